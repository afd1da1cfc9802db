// Test targets for go.yaml (semgrep --test). Deliberately insecure code; never built.
package rules

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"fmt"
	"html/template"
	"math/rand"
	"os/exec"
)

func commands(ctx context.Context, userArg string) {
	// ruleid: pg.go.exec-shell-c
	exec.Command("sh", "-c", "ls "+userArg).Run()
	// ruleid: pg.go.exec-shell-c
	exec.CommandContext(ctx, "/bin/bash", "-c", fmt.Sprintf("tar xf %s", userArg)).Run()
	// ok: pg.go.exec-shell-c
	exec.Command("sh", "-c", "ls -l /tmp").Run()
	// ok: pg.go.exec-shell-c
	exec.Command("ls", userArg).Run()
}

func tlsConfigs() (*tls.Config, *tls.Config) {
	// ruleid: pg.go.tls-insecure-skip-verify
	insecure := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	cfg := &tls.Config{}
	// ruleid: pg.go.tls-insecure-skip-verify
	cfg.InsecureSkipVerify = true
	// ok: pg.go.tls-insecure-skip-verify
	secure := &tls.Config{MinVersion: tls.VersionTLS12}
	return insecure, secure
}

func randomness() ([]byte, string, int) {
	buf := make([]byte, 32)
	// ruleid: pg.go.math-rand-secret
	rand.Read(buf)
	letters := "abcdef0123456789"
	resetToken := make([]byte, 16)
	for i := range resetToken {
		// ruleid: pg.go.math-rand-secret
		resetToken[i] = letters[rand.Intn(len(letters))]
	}
	// ok: pg.go.math-rand-secret
	jitter := rand.Intn(100)
	return buf, string(resetToken), jitter
}

func queries(ctx context.Context, db *sql.DB, name string, id int) {
	// ruleid: pg.go.sql-string-format
	db.Query(fmt.Sprintf("SELECT * FROM users WHERE name = '%s'", name))
	// ruleid: pg.go.sql-string-format
	db.ExecContext(ctx, "DELETE FROM users WHERE name = '"+name+"'")
	q := fmt.Sprintf("UPDATE users SET name = '%s' WHERE id = %d", name, id)
	// ruleid: pg.go.sql-string-format
	db.Exec(q)
	// ok: pg.go.sql-string-format
	db.Query("SELECT * FROM users WHERE name = $1", name)
	// ok: pg.go.sql-string-format
	db.QueryRowContext(ctx, "SELECT count(*) FROM users")
}

func hashing(data []byte) ([16]byte, [20]byte, [32]byte) {
	// ruleid: pg.go.weak-hash
	a := md5.Sum(data)
	// ruleid: pg.go.weak-hash
	b := sha1.Sum(data)
	// ok: pg.go.weak-hash
	c := sha256.Sum256(data)
	return a, b, c
}

func render(comment string) (template.HTML, template.HTML) {
	// ruleid: pg.go.template-html-unescaped
	raw := template.HTML(comment)
	// ok: pg.go.template-html-unescaped
	fixed := template.HTML("<br>")
	return raw, fixed
}
