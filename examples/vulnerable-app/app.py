"""A deliberately vulnerable little service: the pipeline-guard demo target.

Do not deploy this. Every function below contains a classic mistake that one of
the scanners should report.
"""

import hashlib
import pickle
import sqlite3
import subprocess

import requests
import yaml
from flask import Flask, request

from settings import DATABASE_PATH

app = Flask(__name__)


@app.route("/ping")
def ping():
    host = request.args.get("host", "localhost")
    # Command injection: user input reaches a shell.
    return subprocess.check_output("ping -c 1 " + host, shell=True)


@app.route("/user")
def user():
    name = request.args.get("name", "")
    conn = sqlite3.connect(DATABASE_PATH)
    # SQL injection: the query is built by string formatting.
    rows = conn.execute("SELECT * FROM users WHERE name = '%s'" % name).fetchall()
    return {"rows": rows}


@app.route("/import", methods=["POST"])
def import_settings():
    # Arbitrary object construction from untrusted YAML and pickle.
    settings = yaml.load(request.data)
    state = pickle.loads(request.files["state"].read())
    return {"settings": settings, "state": str(state)}


def password_digest(password):
    # A fast unsalted hash is no way to store passwords.
    return hashlib.md5(password.encode()).hexdigest()


def fetch_report(url):
    # Certificate checks disabled.
    return requests.get(url, verify=False, timeout=10).text


if __name__ == "__main__":
    app.run(host="0.0.0.0", debug=True)
