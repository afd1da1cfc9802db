# Test targets for python.yaml (semgrep --test). Deliberately insecure code; never imported.
import hashlib
import os
import pickle
import random
import secrets
import shelve
import ssl
import subprocess
import tarfile
import tempfile
from subprocess import Popen

import flask
import jwt
import requests
import yaml


def commands(user_arg, host):
    # ruleid: pg.python.subprocess-shell-true
    subprocess.run("ls " + user_arg, shell=True)
    # ruleid: pg.python.subprocess-shell-true
    subprocess.check_output(f"ping -c1 {host}", shell=True, text=True)
    cmd = "tar czf backup.tgz " + user_arg
    # ruleid: pg.python.subprocess-shell-true
    Popen(cmd, shell=True)
    # ok: pg.python.subprocess-shell-true
    subprocess.run("ls -l /tmp", shell=True)
    # ok: pg.python.subprocess-shell-true
    subprocess.run(["ls", user_arg])
    # ok: pg.python.subprocess-shell-true
    subprocess.run(["ls", user_arg], shell=False)

    # ruleid: pg.python.os-system
    os.system("rm -rf " + user_arg)
    # ruleid: pg.python.os-system
    os.popen(f"cat {user_arg}")
    # ruleid: pg.python.os-system
    subprocess.getoutput(cmd)
    # ok: pg.python.os-system
    os.system("clear")


def evaluation(expr, source):
    # ruleid: pg.python.eval-exec
    value = eval(expr)
    # ruleid: pg.python.eval-exec
    exec(source, {})
    # ok: pg.python.eval-exec
    eval("1 + 2")
    return value


def deserialization(blob, path, stream):
    # ruleid: pg.python.pickle-load
    obj = pickle.loads(blob)
    with open(path, "rb") as fh:
        # ruleid: pg.python.pickle-load
        obj = pickle.load(fh)
    # ruleid: pg.python.pickle-load
    db = shelve.open(path)

    # ruleid: pg.python.yaml-unsafe-load
    cfg = yaml.load(stream)
    # ruleid: pg.python.yaml-unsafe-load
    cfg = yaml.load(stream, Loader=yaml.Loader)
    # ruleid: pg.python.yaml-unsafe-load
    cfg = yaml.unsafe_load(stream)
    # ok: pg.python.yaml-unsafe-load
    cfg = yaml.load(stream, Loader=yaml.SafeLoader)
    # ok: pg.python.yaml-unsafe-load
    cfg = yaml.load(stream, yaml.CSafeLoader)
    # ok: pg.python.yaml-unsafe-load
    cfg = yaml.safe_load(stream)
    return obj, db, cfg


def queries(conn, name, uid):
    cur = conn.cursor()
    # ruleid: pg.python.sql-string-format
    cur.execute(f"SELECT * FROM users WHERE name = '{name}'")
    # ruleid: pg.python.sql-string-format
    cur.execute("SELECT * FROM users WHERE id = %s" % uid)
    # ruleid: pg.python.sql-string-format
    cur.execute("DELETE FROM users WHERE name = '{}'".format(name))
    # ruleid: pg.python.sql-string-format
    cur.execute("SELECT * FROM users WHERE name = '" + name + "'")
    query = "UPDATE users SET name = '%s'" % name
    # ruleid: pg.python.sql-string-format
    cur.execute(query)
    # ok: pg.python.sql-string-format
    cur.execute("SELECT * FROM users WHERE id = %s", (uid,))
    # ok: pg.python.sql-string-format
    cur.execute("SELECT count(*) FROM users")


def tls(url, ctx):
    # ruleid: pg.python.requests-verify-false
    requests.get(url, verify=False)
    # ruleid: pg.python.requests-verify-false
    requests.post(url, json={}, verify=False, timeout=5)
    session = requests.Session()
    # ruleid: pg.python.requests-verify-false
    session.verify = False
    # ok: pg.python.requests-verify-false
    requests.get(url, verify="/etc/ssl/certs/ca.pem", timeout=5)
    # ok: pg.python.requests-verify-false
    requests.get(url, timeout=5)

    # ruleid: pg.python.ssl-unverified-context
    insecure = ssl._create_unverified_context()
    # ruleid: pg.python.ssl-unverified-context
    ctx.verify_mode = ssl.CERT_NONE
    # ok: pg.python.ssl-unverified-context
    secure = ssl.create_default_context()
    return insecure, secure


def hashing(password, data):
    # ruleid: pg.python.weak-hash
    digest = hashlib.md5(password.encode()).hexdigest()
    # ruleid: pg.python.weak-hash
    digest = hashlib.sha1(data).hexdigest()
    # ruleid: pg.python.weak-hash
    digest = hashlib.new("MD5", data)
    # ok: pg.python.weak-hash
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    # ok: pg.python.weak-hash
    digest = hashlib.sha256(data).hexdigest()
    return digest


def temp_files():
    # ruleid: pg.python.tempfile-mktemp
    name = tempfile.mktemp(suffix=".txt")
    # ok: pg.python.tempfile-mktemp
    fd, name = tempfile.mkstemp(suffix=".txt")
    return fd, name


app = flask.Flask(__name__)


def serve():
    # ruleid: pg.python.flask-debug
    app.run(host="0.0.0.0", debug=True)
    # ok: pg.python.flask-debug
    app.run(debug=os.environ.get("FLASK_DEBUG") == "1")


def archives(path, dest):
    tar = tarfile.open(path)
    # ruleid: pg.python.tarfile-extractall
    tar.extractall(dest)
    with tarfile.open(path) as archive:
        # ruleid: pg.python.tarfile-extractall
        archive.extractall(path=dest)
        # ok: pg.python.tarfile-extractall
        archive.extractall(dest, filter="data")


def permissions(path):
    # ruleid: pg.python.chmod-world-writable
    os.chmod(path, 0o777)
    # ruleid: pg.python.chmod-world-writable
    os.chmod(path, 0o666)
    # ok: pg.python.chmod-world-writable
    os.chmod(path, 0o644)
    # ok: pg.python.chmod-world-writable
    os.chmod(path, 0o750)


def tokens(token, key):
    # ruleid: pg.python.jwt-verify-disabled
    claims = jwt.decode(token, options={"verify_signature": False})
    # ruleid: pg.python.jwt-verify-disabled
    claims = jwt.decode(token, key, verify=False)
    # ok: pg.python.jwt-verify-disabled
    claims = jwt.decode(token, key, algorithms=["RS256"])
    return claims


def randomness(alphabet):
    # ruleid: pg.python.insecure-random-secret
    reset_token = "".join(random.choice(alphabet) for _ in range(32))
    # ruleid: pg.python.insecure-random-secret
    api_key = random.getrandbits(128)
    # ok: pg.python.insecure-random-secret
    session_token = secrets.token_urlsafe(32)
    # ok: pg.python.insecure-random-secret
    delay = random.uniform(0.5, 1.5)
    return reset_token, api_key, session_token, delay
