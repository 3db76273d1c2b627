package deploy_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runbookSteps reads the shell blocks of a runbook that start with a
// "# runbook-test: NAME" line, by name.
func runbookSteps(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	steps := map[string]string{}
	var name string
	var block []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "```sh"):
			in, name, block = true, "", nil
		case in && line == "```":
			if name != "" {
				steps[name] = strings.Join(block, "\n")
			}
			in = false
		case in && name == "" && strings.HasPrefix(line, "# runbook-test: "):
			name = strings.TrimPrefix(line, "# runbook-test: ")
		case in:
			block = append(block, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return steps
}

// TestBackupRestoreRunbook runs the commands of deploy/runbooks/mariadb-backup.md as
// written: a backup of the local stack's running MariaDB while it takes writes, its
// prepare, and a restore onto an empty data folder, on which a private server then
// starts. A table written before the backup comes back row for row (the same
// CHECKSUM TABLE); a row written after the backup does not.
func TestBackupRestoreRunbook(t *testing.T) {
	stackDir := os.Getenv("SCHOOL_STACK_DIR")
	if stackDir == "" {
		t.Fatal("SCHOOL_STACK_DIR is not set: run `make test`, or `make stack-up` and source .local/stack.env")
	}
	binary(t, "mariadb-backup")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	stack := &mariadb{dir: filepath.Join(stackDir, "mariadb"), sock: filepath.Join(stackDir, "mariadb", "mysqld.sock"), osUser: u.Username}
	name := fmt.Sprintf("backup_test_%d", time.Now().UnixNano())
	stack.mustSQL(t, fmt.Sprintf(`CREATE DATABASE %[1]s;
		CREATE TABLE %[1]s.seats (id INT PRIMARY KEY AUTO_INCREMENT, section INT NOT NULL, student VARCHAR(20) NOT NULL,
			UNIQUE KEY (section, student)) ENGINE=InnoDB;
		INSERT INTO %[1]s.seats (section, student) SELECT seq MOD 50, CONCAT('s', seq) FROM seq.seq_1_to_5000;`, name))
	t.Cleanup(func() { stack.sql("DROP DATABASE IF EXISTS " + name) })
	before := stack.mustSQL(t, "CHECKSUM TABLE "+name+".seats")

	dir := t.TempDir()
	cnf := filepath.Join(dir, "backup.cnf")
	if err := os.WriteFile(cnf, fmt.Appendf(nil, "[client]\nsocket=%s\nuser=%s\n", stack.sock, u.Username), 0o600); err != nil {
		t.Fatal(err)
	}
	restored := &mariadb{dir: filepath.Join(dir, "restored"), port: freePort(t, 3410, 3499), osUser: u.Username}
	restored.sock = filepath.Join(restored.dir, "mysqld.sock")
	if err := os.MkdirAll(restored.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "BACKUP_CNF="+cnf, "BACKUP_DIR="+filepath.Join(dir, "backup"),
		"DATADIR="+filepath.Join(restored.dir, "data"), "MARIADB_OS_USER="+u.Username)
	steps := runbookSteps(t, "runbooks/mariadb-backup.md")
	run := func(step string) {
		t.Helper()
		script, ok := steps[step]
		if !ok {
			t.Fatalf("runbooks/mariadb-backup.md has no `# runbook-test: %s` block", step)
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("runbook step %s:\n%s\n%v\n%s", step, script, err, tail(out, 3000))
		}
	}

	run("backup")
	// Written after the backup: the restore must not have it.
	stack.mustSQL(t, "INSERT INTO "+name+".seats (section, student) VALUES (1, 'after-backup')")
	run("prepare")
	run("restore")
	restored.start(t)

	if got := restored.mustSQL(t, "CHECKSUM TABLE "+name+".seats"); got != before {
		t.Errorf("restored checksum %q, before the backup %q", got, before)
	}
	if n := strings.TrimSpace(restored.mustSQL(t, "SELECT COUNT(*) FROM "+name+".seats")); n != "5000" {
		t.Errorf("restored %s rows, want the 5000 written before the backup", n)
	}
	if out := restored.mustSQL(t, "CHECK TABLE "+name+".seats"); !strings.Contains(out, "\tOK") {
		t.Errorf("CHECK TABLE on the restore: %s", out)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
