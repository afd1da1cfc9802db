"""Settings for the demo service."""

DATABASE_PATH = "/tmp/demo.sqlite3"

# A fake credential, planted for the secrets scanner (not a real key).
AWS_ACCESS_KEY_ID = "AKIAZ7Q2XK4VN3JDHW5P"
AWS_SECRET_ACCESS_KEY = "q8Rf2vLk9ZtX0sPw3mNc7YbHj4Ud6EaG1oKiQlTe"
