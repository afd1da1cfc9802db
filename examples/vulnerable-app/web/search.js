// Client-side search box of the demo app.
const { exec } = require("child_process");

function showResults(container, query) {
  // DOM XSS: the query is written as HTML.
  container.innerHTML = "<h2>Results for " + query + "</h2>";
}

function archive(name) {
  // Command injection through a file name.
  exec("tar czf /tmp/archive.tgz " + name);
}

module.exports = { showResults, archive };
