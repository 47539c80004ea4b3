package deploy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/deploy/airflow"
)

// TestBackfillThroughMWAA starts a backfill the way the server does: the
// environment's targets are opened for the person, the MWAA API issues a
// CLI token, and the web server's CLI endpoint runs the Airflow commands.
func TestBackfillThroughMWAA(t *testing.T) {
	h := newHarness(t, 3)
	var commands, tokensFor []string
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer token-prod" {
			http.Error(w, "Unauthorized", http.StatusForbidden)
			return
		}
		body, _ := io.ReadAll(r.Body)
		commands = append(commands, string(body))
		json.NewEncoder(w).Encode(map[string]string{"stdout": base64.StdEncoding.EncodeToString([]byte("[]")), "stderr": ""})
	}))
	defer web.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/clitoken/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		tokensFor = append(tokensFor, name)
		json.NewEncoder(w).Encode(map[string]string{"CliToken": "token-prod", "WebServerHostname": strings.TrimPrefix(web.URL, "https://")})
	}))
	defer api.Close()

	ctx := context.Background()
	window := airflow.Backfill{DagID: "orders_load", Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}
	e := h.engine("a", time.Minute)
	if _, err := e.Backfill(ctx, BackfillRequest{Env: "prod", Backfill: window, Actor: "carol"}); !errors.Is(err, ErrNoScheduler) {
		t.Fatalf("with MWAA calls off: err = %v, want ErrNoScheduler", err)
	}

	h.opener.NoMWAA, h.opener.MWAAEndpoint, h.opener.HTTPClient = false, api.URL, web.Client()
	res, err := e.Backfill(ctx, BackfillRequest{Env: "prod", Backfill: window, Actor: "carol", PR: 7})
	if err != nil {
		t.Fatal(err)
	}
	if want := "airflow dags backfill --start-date 2026-11-01 --end-date 2026-11-03 orders_load"; res.Command != want {
		t.Errorf("command = %q, want %q", res.Command, want)
	}
	if len(tokensFor) != 2 || tokensFor[0] != "parcelflow-prod" {
		t.Errorf("CLI tokens asked for %v, want parcelflow-prod twice (list the runs, then backfill)", tokensFor)
	}
	if len(commands) != 2 || !strings.HasPrefix(commands[0], "dags list-runs -d orders_load") || !strings.HasPrefix(commands[1], "dags backfill") {
		t.Errorf("commands = %q", commands)
	}
	if _, err := e.Backfill(ctx, BackfillRequest{Env: "qa", Backfill: window, Actor: "carol"}); err == nil || !strings.Contains(err.Error(), `unknown environment "qa"`) {
		t.Errorf("unknown environment: err = %v", err)
	}
}
