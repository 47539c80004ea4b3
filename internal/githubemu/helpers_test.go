package githubemu

import (
	"testing"

	"github.com/google/go-github/v74/github"
)

// fixture is an emulator serving over HTTP with a repo holding one commit on main.
type fixture struct {
	emu  *Emulator
	gh   *github.Client
	repo *Repo
	base string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	emu := New(Options{})
	base, stop := emu.Start()
	t.Cleanup(stop)
	repo := emu.CreateRepo("parcelflow", "data-platform", "main")
	repo.Commit("main", map[string]string{
		"README.md":            "hello\n",
		"dags/daily.py":        "import airflow\n",
		"models/orders.sql":    "select 1\n",
		"contracts/orders.yml": "name: orders\n",
	}, "initial", "alice")
	return &fixture{emu: emu, gh: emu.Client(), repo: repo, base: base}
}

func must[T any](t *testing.T) func(v T, _ *github.Response, err error) T {
	return func(v T, _ *github.Response, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}
