// Package airflowtest holds test doubles for the parts of AWS that cannot run
// here: an MWAA API server speaking the service's REST-JSON protocol (so the
// real SDK client is used), and an HTTP wrapper that injects S3 faults.
package airflowtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// MWAA is a fake of MWAA's GetEnvironment and UpdateEnvironment. An update
// keeps the environment UPDATING for UpdatingPolls reads, then AVAILABLE, or
// ROLLING_BACK and then AVAILABLE with a failed last update when FailUpdates.
type MWAA struct {
	UpdatingPolls int
	FailUpdates   bool

	mu      sync.Mutex
	envs    map[string]*mwaaEnv
	updates []map[string]any
}

type mwaaEnv struct {
	fields   map[string]any
	polls    int
	failing  bool
	rollback int
}

// NewMWAA serves the named environments, AVAILABLE.
func NewMWAA(names ...string) *MWAA {
	m := &MWAA{envs: map[string]*mwaaEnv{}}
	for _, n := range names {
		m.envs[n] = &mwaaEnv{fields: map[string]any{"Name": n, "Arn": "arn:aws:airflow:eu-west-1:111111111111:environment/" + n}}
	}
	return m
}

// Updates returns the bodies of every UpdateEnvironment request, in order.
func (m *MWAA) Updates() []map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]map[string]any{}, m.updates...)
}

// ServeHTTP implements the two operations.
func (m *MWAA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/environments/")
	m.mu.Lock()
	defer m.mu.Unlock()
	env := m.envs[name]
	if !ok || env == nil {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"environment not found"}`))
		return
	}
	switch r.Method {
	case http.MethodGet:
		status, last := "AVAILABLE", map[string]any{"Status": "SUCCESS"}
		switch {
		case env.polls > 0:
			env.polls--
			status, last = "UPDATING", map[string]any{"Status": "PENDING"}
		case env.rollback > 0:
			env.rollback--
			status, last = "ROLLING_BACK", map[string]any{"Status": "PENDING"}
		case env.failing:
			last = map[string]any{"Status": "FAILED", "Error": map[string]any{"ErrorCode": "INCORRECT_CONFIGURATION", "ErrorMessage": "requirements failed to install"}}
		}
		out := map[string]any{}
		for k, v := range env.fields {
			out[k] = v
		}
		out["Status"], out["LastUpdate"] = status, last
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"Environment": out})
	case http.MethodPatch:
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.Header().Set("X-Amzn-Errortype", "ValidationException")
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		m.updates = append(m.updates, body)
		env.polls = m.UpdatingPolls
		env.failing = m.FailUpdates
		if m.FailUpdates {
			env.rollback = 1
		} else {
			for k, v := range body {
				env.fields[k] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"Arn": env.fields["Arn"]})
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// Faults wraps an S3 handler and fails chosen requests, as a flaky network
// or an overloaded S3 would.
type Faults struct {
	Next http.Handler
	// FailPutAfter makes every object PUT after the first N fail (N ≥ 0;
	// -1 disables). Failures answer 500 InternalError or drop the connection.
	FailPutAfter atomic.Int64
	// DropConnection drops the connection instead of answering 500.
	DropConnection atomic.Bool
	puts           atomic.Int64
	// Failed counts the requests failed so far.
	Failed atomic.Int64
	// PutBytes counts the bytes of object PUTs that went through.
	PutBytes atomic.Int64
	// Puts counts object PUTs that went through.
	Puts atomic.Int64
	// OnPut, when set, runs before each object PUT is served (tests use it
	// to stop a process at a precise point of a sync).
	OnPut atomic.Pointer[func()]
	// FailIf, when set, fails every object PUT it returns true for, with a 500.
	FailIf atomic.Pointer[func(*http.Request) bool]
	// Deletes counts DeleteObjects requests (a sync's deletion phase).
	Deletes atomic.Int64
}

// NewFaults wraps next with no faults armed.
func NewFaults(next http.Handler) *Faults {
	f := &Faults{Next: next}
	f.FailPutAfter.Store(-1)
	return f
}

// ServeHTTP passes requests on, failing object PUTs past the armed count.
func (f *Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isObjectPut := r.Method == http.MethodPut && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 && r.URL.Query().Get("versioning") == ""
	if r.Method == http.MethodPost && r.URL.Query().Has("delete") {
		f.Deletes.Add(1)
	}
	if isObjectPut {
		if hook := f.OnPut.Load(); hook != nil {
			(*hook)()
		}
		n := f.puts.Add(1)
		if pred := f.FailIf.Load(); pred != nil && (*pred)(r) {
			f.Failed.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>`))
			return
		}
		if after := f.FailPutAfter.Load(); after >= 0 && n > after {
			f.Failed.Add(1)
			if f.DropConnection.Load() {
				if hj, ok := w.(http.Hijacker); ok {
					if c, _, err := hj.Hijack(); err == nil {
						c.Close()
						return
					}
				}
			}
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>`))
			return
		}
		f.Puts.Add(1)
		if r.ContentLength > 0 {
			f.PutBytes.Add(r.ContentLength)
		}
	}
	f.Next.ServeHTTP(w, r)
}
