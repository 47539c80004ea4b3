package airflow

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/checks"
)

var fixedNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func runCheck(t *testing.T, in *checks.Input) checks.Result {
	t.Helper()
	c := &Check{Now: func() time.Time { return fixedNow }}
	if !c.Applies(in) {
		t.Fatalf("check does not apply")
	}
	return checks.Run(context.Background(), c, in)
}

func TestSampleRepoPrint(t *testing.T) {
	if os.Getenv("PRINT") == "" {
		t.Skip()
	}
	head, err := checks.ReadDir("../../testdata/sample-repo")
	if err != nil {
		t.Fatal(err)
	}
	in := checks.NewInput(head, head)
	in.Changes = checks.Diff(checks.EmptyTree, head)
	res := runCheck(t, in)
	b, _ := json.MarshalIndent(res, "", " ")
	os.Stdout.Write(b)
}
