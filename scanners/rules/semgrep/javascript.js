// Test targets for javascript.yaml (semgrep --test). Deliberately insecure code; never run.
const crypto = require("crypto");
const https = require("https");
const { exec } = require("child_process");
const cp = require("child_process");

function dynamicCode(expr, body) {
  // ruleid: pg.js.eval
  const value = eval(expr);
  // ok: pg.js.eval
  eval("1 + 1");
  // ruleid: pg.js.new-function
  const fn = new Function("a", body);
  // ok: pg.js.new-function
  const add = new Function("a", "b", "return a + b");
  return [value, fn, add];
}

function commands(branch, file) {
  // ruleid: pg.js.child-process-exec
  exec("git checkout " + branch);
  // ruleid: pg.js.child-process-exec
  cp.execSync(`cat ${file}`);
  // ruleid: pg.js.child-process-exec
  cp.spawn(`tar xf ${file}`, [], { shell: true });
  // ok: pg.js.child-process-exec
  cp.execFile("git", ["checkout", branch]);
  // ok: pg.js.child-process-exec
  exec("git status");
}

function render(el, comment) {
  // ruleid: pg.js.innerhtml-assignment
  el.innerHTML = "<p>" + comment + "</p>";
  // ruleid: pg.js.innerhtml-assignment
  el.insertAdjacentHTML("beforeend", comment);
  // ruleid: pg.js.innerhtml-assignment
  document.write(comment);
  // ok: pg.js.innerhtml-assignment
  el.innerHTML = "<p>loading</p>";
  // ok: pg.js.innerhtml-assignment
  el.textContent = comment;
  // ok: pg.js.innerhtml-assignment
  el.innerHTML = DOMPurify.sanitize(comment);
}

function Comment({ html }) {
  // ruleid: pg.js.dangerously-set-inner-html
  const raw = <div dangerouslySetInnerHTML={{ __html: html }} />;
  // ok: pg.js.dangerously-set-inner-html
  const clean = <div dangerouslySetInnerHTML={{ __html: DOMPurify.sanitize(html) }} />;
  return [raw, clean];
}

function tls(host) {
  // ruleid: pg.js.tls-reject-unauthorized
  https.get({ host, rejectUnauthorized: false });
  // ruleid: pg.js.tls-reject-unauthorized
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
  // ok: pg.js.tls-reject-unauthorized
  https.get({ host, rejectUnauthorized: true });
}

function hashing(password) {
  // ruleid: pg.js.weak-hash
  const a = crypto.createHash("md5").update(password).digest("hex");
  // ruleid: pg.js.weak-hash
  const b = crypto.createHash("SHA1").update(password).digest("hex");
  // ok: pg.js.weak-hash
  const c = crypto.createHash("sha256").update(password).digest("hex");
  return [a, b, c];
}

async function queries(db, id, name) {
  // ruleid: pg.js.sql-concat
  await db.query("SELECT * FROM users WHERE id = " + id);
  // ruleid: pg.js.sql-concat
  await db.query(`DELETE FROM users WHERE name = '${name}'`);
  // ok: pg.js.sql-concat
  await db.query("SELECT * FROM users WHERE id = $1", [id]);
  // ok: pg.js.sql-concat
  await cache.get("user:" + id);
}
