package store

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
)

// TestInboxPostgres runs the inbox suite against a throwaway PostgreSQL
// cluster started from the machine's packages; it skips where there are none.
func TestInboxPostgres(t *testing.T) {
	runInboxSuite(t, postgresDatabases(t, "inbox"))
}

// postgresDatabases starts a throwaway cluster and returns a constructor of
// fresh databases on it, one per subtest so they stay independent. It skips
// the test in -short mode and where PostgreSQL is not installed.
func postgresDatabases(t *testing.T, prefix string) func(t *testing.T) *DB {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the PostgreSQL cluster in -short mode")
	}
	dsn := throwawayPostgres(t)
	admin, err := Open(context.Background(), dsn+"/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	n := 0
	return func(t *testing.T) *DB {
		n++
		name := fmt.Sprintf("%s_%d", prefix, n)
		if _, err := admin.SQL.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatal(err)
		}
		db, err := Open(context.Background(), dsn+"/"+name+"?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// throwawayPostgres initialises a cluster in a temp dir, starts it on a free
// loopback port and returns "postgres://ROLE@127.0.0.1:PORT" (no database).
func throwawayPostgres(t *testing.T) string {
	t.Helper()
	bin := ""
	for _, dir := range []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"} {
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			bin = dir
			break
		}
	}
	if bin == "" {
		if p, err := exec.LookPath("pg_ctl"); err == nil {
			bin = filepath.Dir(p)
		}
	}
	if bin == "" {
		t.Skip("PostgreSQL is not installed (no pg_ctl): skipping the PostgreSQL tests")
	}

	// PostgreSQL refuses to run as root; run it as the postgres user then.
	var prefix []string
	role := ""
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Skip("running as root and there is no postgres user: skipping the PostgreSQL tests")
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			t.Skip("running as root without runuser: skipping the PostgreSQL tests")
		}
		prefix = []string{runuser, "-u", "postgres", "--"}
		role = "postgres"
	} else {
		u, err := user.Current()
		if err != nil {
			t.Skipf("cannot tell the current user (%v): skipping the PostgreSQL tests", err)
		}
		role = u.Username
	}

	base, err := os.MkdirTemp("", "conveyor-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if os.Geteuid() == 0 {
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "postgres", base).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v: %s", err, out)
		}
	}
	dataDir := filepath.Join(base, "data")
	run := func(args ...string) error {
		full := append(append([]string{}, prefix...), args...)
		out, err := exec.Command(full[0], full[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %w\n%s", args, err, out)
		}
		return nil
	}
	if err := run(filepath.Join(bin, "initdb"), "-D", dataDir, "-U", role, "--auth=trust", "--no-sync", "-E", "UTF8"); err != nil {
		t.Fatal(err)
	}
	port := pgFreePort(t)
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, base)
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", dataDir, "-o", opts, "-l", filepath.Join(base, "log"), "-w", "start"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run(filepath.Join(bin, "pg_ctl"), "-D", dataDir, "-m", "immediate", "-w", "stop"); err != nil {
			t.Log(err)
		}
	})
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d", role, port)
}

func pgFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
