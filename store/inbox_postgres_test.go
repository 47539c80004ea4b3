package store

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// TestInboxPostgres runs the inbox suite against the shared throwaway
// PostgreSQL cluster; it skips where PostgreSQL is not installed.
func TestInboxPostgres(t *testing.T) {
	runInboxSuite(t, postgresDatabases(t, "inbox"))
}

// TestMain stops the shared PostgreSQL cluster after the last test.
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedPG.stop != nil {
		sharedPG.stop()
	}
	os.Exit(code)
}

// sharedPG is one throwaway cluster for the whole test binary: starting one
// takes seconds, a fresh database on it milliseconds.
var sharedPG struct {
	once sync.Once
	dsn  string
	skip string
	err  error
	stop func()
	n    atomic.Int64
}

// postgresDatabases returns a constructor of fresh databases on the shared
// cluster, one per call so tests stay independent. It skips the test in
// -short mode and where PostgreSQL is not installed.
func postgresDatabases(t *testing.T, prefix string) func(t *testing.T) *DB {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the PostgreSQL cluster in -short mode")
	}
	sharedPG.once.Do(func() { sharedPG.dsn, sharedPG.stop, sharedPG.skip, sharedPG.err = startPostgres() })
	if sharedPG.skip != "" {
		t.Skip(sharedPG.skip)
	}
	if sharedPG.err != nil {
		t.Fatal(sharedPG.err)
	}
	return func(t *testing.T) *DB {
		t.Helper()
		admin, err := Open(context.Background(), sharedPG.dsn+"/postgres?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		name := fmt.Sprintf("%s_%d", prefix, sharedPG.n.Add(1))
		if _, err := admin.SQL.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatal(err)
		}
		db, err := Open(context.Background(), sharedPG.dsn+"/"+name+"?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// EachDialect runs test once on a fresh SQLite file and once on the shared
// PostgreSQL cluster (skipped where PostgreSQL is absent), so every store
// behaviour is proven on both databases Conveyor supports. It is exported
// for the external store_test package.
func EachDialect(t *testing.T, prefix string, test func(t *testing.T, open func(*testing.T) *DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		test(t, func(t *testing.T) *DB {
			t.Helper()
			db, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "c.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) { test(t, postgresDatabases(t, prefix)) })
}

// startPostgres initialises a cluster in a temp dir and starts it on a free
// loopback port. It returns "postgres://ROLE@127.0.0.1:PORT" (no database)
// and how to stop it, or why the PostgreSQL tests must be skipped here.
func startPostgres() (dsn string, stop func(), skip string, err error) {
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
		return "", nil, "PostgreSQL is not installed (no pg_ctl): skipping the PostgreSQL tests", nil
	}

	// PostgreSQL refuses to run as root; run it as the postgres user then.
	var prefix []string
	role := ""
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return "", nil, "running as root and there is no postgres user: skipping the PostgreSQL tests", nil
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			return "", nil, "running as root without runuser: skipping the PostgreSQL tests", nil
		}
		prefix = []string{runuser, "-u", "postgres", "--"}
		role = "postgres"
	} else {
		u, err := user.Current()
		if err != nil {
			return "", nil, fmt.Sprintf("cannot tell the current user (%v): skipping the PostgreSQL tests", err), nil
		}
		role = u.Username
	}

	base, err := os.MkdirTemp("", "conveyor-pg-")
	if err != nil {
		return "", nil, "", err
	}
	cleanup := func() { os.RemoveAll(base) }
	if os.Geteuid() == 0 {
		if err := os.Chmod(base, 0o755); err != nil {
			cleanup()
			return "", nil, "", err
		}
		if out, err := exec.Command("chown", "postgres", base).CombinedOutput(); err != nil {
			cleanup()
			return "", nil, "", fmt.Errorf("chown: %v: %s", err, out)
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
		cleanup()
		return "", nil, "", err
	}
	port, err := pgFreePort()
	if err != nil {
		cleanup()
		return "", nil, "", err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, base)
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", dataDir, "-o", opts, "-l", filepath.Join(base, "log"), "-w", "start"); err != nil {
		cleanup()
		return "", nil, "", err
	}
	stop = func() {
		_ = run(filepath.Join(bin, "pg_ctl"), "-D", dataDir, "-m", "immediate", "-w", "stop")
		cleanup()
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d", role, port), stop, "", nil
}

func pgFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
