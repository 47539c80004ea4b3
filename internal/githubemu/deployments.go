package githubemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Deployment is a snapshot of a GitHub deployment with its statuses, oldest first.
type Deployment struct {
	ID          int64
	SHA, Ref    string
	Task        string
	Environment string
	Description string
	Payload     json.RawMessage
	Transient   bool
	Production  bool
	Creator     string
	CreatedAt   time.Time
	Statuses    []DeploymentStatus
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	ID             int64
	State          string // error, failure, inactive, in_progress, queued, pending, success
	Description    string
	Environment    string
	EnvironmentURL string
	LogURL         string
	Creator        string
	CreatedAt      time.Time
}

// State is the latest status's state, or "" when none was posted.
func (d Deployment) State() string {
	if len(d.Statuses) == 0 {
		return ""
	}
	return d.Statuses[len(d.Statuses)-1].State
}

type environment struct {
	id               int64
	name             string
	created, updated time.Time
}

var deploymentStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

// Deployments lists the repo's deployments, oldest first.
func (r *Repo) Deployments() []Deployment {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	var out []Deployment
	for _, d := range r.deployments {
		dd := *d
		dd.Statuses = slices.Clone(d.Statuses)
		out = append(out, dd)
	}
	return out
}

// CreateEnvironment adds a deployment environment (GitHub also creates one on first
// deployment to it).
func (r *Repo) CreateEnvironment(name string) {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	r.environment(name)
}

func (r *Repo) environment(name string) *environment {
	if env, ok := r.environments[name]; ok {
		return env
	}
	now := r.emu.now()
	env := &environment{id: r.emu.newID(), name: name, created: now, updated: now}
	r.environments[name] = env
	return env
}

func (r *Repo) deploymentJSON(d *Deployment) map[string]any {
	e := r.emu
	var payload any = map[string]any{}
	if len(d.Payload) > 0 {
		payload = d.Payload
	}
	return map[string]any{
		"id": d.ID, "node_id": fmt.Sprintf("DE_%d", d.ID), "sha": d.SHA, "ref": d.Ref, "task": d.Task,
		"payload": payload, "original_environment": d.Environment, "environment": d.Environment,
		"description": nilIfEmpty(d.Description), "creator": e.userJSON(d.Creator),
		"created_at": ts(d.CreatedAt), "updated_at": ts(d.CreatedAt),
		"url":                      e.apiURL("/repos/%s/deployments/%d", r.FullName(), d.ID),
		"statuses_url":             e.apiURL("/repos/%s/deployments/%d/statuses", r.FullName(), d.ID),
		"repository_url":           e.apiURL("/repos/%s", r.FullName()),
		"transient_environment":    d.Transient,
		"production_environment":   d.Production,
		"performed_via_github_app": e.appJSON(),
	}
}

func (r *Repo) deploymentStatusJSON(d *Deployment, s DeploymentStatus) map[string]any {
	e := r.emu
	return map[string]any{
		"id": s.ID, "node_id": fmt.Sprintf("DES_%d", s.ID), "state": s.State, "creator": e.userJSON(s.Creator),
		"description": s.Description, "environment": s.Environment, "environment_url": s.EnvironmentURL,
		"log_url": s.LogURL, "target_url": s.LogURL, "created_at": ts(s.CreatedAt), "updated_at": ts(s.CreatedAt),
		"url":            e.apiURL("/repos/%s/deployments/%d/statuses/%d", r.FullName(), d.ID, s.ID),
		"deployment_url": e.apiURL("/repos/%s/deployments/%d", r.FullName(), d.ID),
		"repository_url": e.apiURL("/repos/%s", r.FullName()),
	}
}

// createDeployment follows GitHub: required_contexts omitted means every check on the
// commit must have passed (409 otherwise); pass [] to skip the check.
func (e *Emulator) createDeployment(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	var in struct {
		Ref                   string          `json:"ref"`
		Task                  string          `json:"task"`
		AutoMerge             *bool           `json:"auto_merge"`
		RequiredContexts      *[]string       `json:"required_contexts"`
		Payload               json.RawMessage `json:"payload"`
		Environment           string          `json:"environment"`
		Description           string          `json:"description"`
		TransientEnvironment  bool            `json:"transient_environment"`
		ProductionEnvironment *bool           `json:"production_environment"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Ref == "" {
		writeValidation(w, fieldError{Resource: "Deployment", Field: "ref", Code: "missing_field"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha, ok := rp.resolve(in.Ref)
	if !ok {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "No ref found for: " + in.Ref, "documentation_url": docsURL})
		return
	}
	if failed := rp.failedContexts(sha, in.RequiredContexts); len(failed) > 0 {
		writeJSON(w, http.StatusConflict, map[string]any{
			"message":           fmt.Sprintf("Conflict: Commit status checks failed for %s.", in.Ref),
			"errors":            []any{map[string]any{"contexts": failed, "resource": "Deployment", "field": "required_contexts"}},
			"documentation_url": docsURL,
		})
		return
	}
	if in.Task == "" {
		in.Task = "deploy"
	}
	if in.Environment == "" {
		in.Environment = "production"
	}
	prod := in.Environment == "production"
	if in.ProductionEnvironment != nil {
		prod = *in.ProductionEnvironment
	}
	if len(in.Payload) > 0 && in.Payload[0] == '"' {
		var s string
		_ = json.Unmarshal(in.Payload, &s)
		if json.Valid([]byte(s)) {
			in.Payload = json.RawMessage(s)
		}
	}
	d := &Deployment{
		ID: e.newID(), SHA: sha, Ref: in.Ref, Task: in.Task, Environment: in.Environment, Description: in.Description,
		Payload: in.Payload, Transient: in.TransientEnvironment, Production: prod, Creator: e.botLogin(), CreatedAt: e.now(),
	}
	rp.environment(in.Environment)
	rp.deployments = append(rp.deployments, d)
	writeJSON(w, http.StatusCreated, rp.deploymentJSON(d))
}

// failedContexts lists required checks on sha that have not succeeded. nil required means
// all checks (latest run per name), as GitHub does when required_contexts is omitted.
func (r *Repo) failedContexts(sha string, required *[]string) []any {
	latest := map[string]*CheckRun{}
	for _, cr := range r.runsFor(sha) {
		latest[cr.Name] = cr
	}
	var names []string
	if required == nil {
		for n := range latest {
			names = append(names, n)
		}
	} else {
		names = *required
	}
	slices.Sort(names)
	var failed []any
	for _, n := range names {
		cr := latest[n]
		if cr == nil || cr.Status != "completed" || !slices.Contains([]string{"success", "neutral", "skipped"}, cr.Conclusion) {
			state := "pending"
			if cr != nil && cr.Status == "completed" {
				state = cr.Conclusion
			}
			failed = append(failed, map[string]any{"context": n, "state": state})
		}
	}
	return failed
}

func (e *Emulator) lookupDeployment(w http.ResponseWriter, r *http.Request) (*Repo, *Deployment, bool) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return nil, nil, false
	}
	id, _ := pathInt(r, "id")
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range rp.deployments {
		if d.ID == id {
			return rp, d, true
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
	return nil, nil, false
}

func (e *Emulator) listDeployments(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	q := r.URL.Query()
	var ds []*Deployment
	for i := len(rp.deployments) - 1; i >= 0; i-- {
		d := rp.deployments[i]
		if (q.Get("sha") == "" || d.SHA == q.Get("sha")) && (q.Get("ref") == "" || d.Ref == q.Get("ref")) &&
			(q.Get("task") == "" || d.Task == q.Get("task")) && (q.Get("environment") == "" || d.Environment == q.Get("environment")) {
			ds = append(ds, d)
		}
	}
	start, end := paginate(w, r, len(ds))
	out := []any{}
	for _, d := range ds[start:end] {
		out = append(out, rp.deploymentJSON(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getDeployment(w http.ResponseWriter, r *http.Request) {
	rp, d, ok := e.lookupDeployment(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, rp.deploymentJSON(d))
}

// createDeploymentStatus adds a status. A success with auto_inactive (default true) marks
// earlier successful deployments to the same environment inactive — except transient and
// production_environment ones, which GitHub leaves alone.
func (e *Emulator) createDeploymentStatus(w http.ResponseWriter, r *http.Request) {
	rp, d, ok := e.lookupDeployment(w, r)
	if !ok {
		return
	}
	var in struct {
		State          string `json:"state"`
		LogURL         string `json:"log_url"`
		TargetURL      string `json:"target_url"`
		Description    string `json:"description"`
		Environment    string `json:"environment"`
		EnvironmentURL string `json:"environment_url"`
		AutoInactive   *bool  `json:"auto_inactive"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if !slices.Contains(deploymentStates, in.State) {
		writeValidation(w, fieldError{Resource: "DeploymentStatus", Field: "state", Code: "invalid"})
		return
	}
	if len(in.Description) > 140 {
		writeValidation(w, fieldError{Resource: "DeploymentStatus", Field: "description", Code: "custom", Message: "description is too long (maximum is 140 characters)"})
		return
	}
	if in.EnvironmentURL != "" {
		if u, err := url.Parse(in.EnvironmentURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			writeValidation(w, fieldError{Resource: "DeploymentStatus", Field: "environment_url", Code: "invalid"})
			return
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if in.Environment != "" {
		d.Environment = in.Environment
		rp.environment(in.Environment)
	}
	if in.LogURL == "" {
		in.LogURL = in.TargetURL
	}
	st := DeploymentStatus{
		ID: e.newID(), State: in.State, Description: in.Description, Environment: d.Environment,
		EnvironmentURL: in.EnvironmentURL, LogURL: in.LogURL, Creator: e.botLogin(), CreatedAt: e.now(),
	}
	d.Statuses = append(d.Statuses, st)
	rp.environment(d.Environment).updated = st.CreatedAt
	if in.State == "success" && (in.AutoInactive == nil || *in.AutoInactive) {
		for _, other := range rp.deployments {
			if other.ID < d.ID && other.Environment == d.Environment && !other.Transient && !other.Production &&
				len(other.Statuses) > 0 && other.Statuses[len(other.Statuses)-1].State == "success" {
				other.Statuses = append(other.Statuses, DeploymentStatus{
					ID: e.newID(), State: "inactive", Environment: other.Environment, Creator: e.botLogin(), CreatedAt: st.CreatedAt,
				})
			}
		}
	}
	writeJSON(w, http.StatusCreated, rp.deploymentStatusJSON(d, st))
}

func (e *Emulator) listDeploymentStatuses(w http.ResponseWriter, r *http.Request) {
	rp, d, ok := e.lookupDeployment(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sts := slices.Clone(d.Statuses)
	slices.Reverse(sts)
	start, end := paginate(w, r, len(sts))
	out := []any{}
	for _, s := range sts[start:end] {
		out = append(out, rp.deploymentStatusJSON(d, s))
	}
	writeJSON(w, http.StatusOK, out)
}

func (r *Repo) environmentJSON(env *environment) map[string]any {
	e := r.emu
	return map[string]any{
		"id": env.id, "node_id": fmt.Sprintf("EN_%d", env.id), "name": env.name,
		"url":                      e.apiURL("/repos/%s/environments/%s", r.FullName(), url.PathEscape(env.name)),
		"html_url":                 e.htmlURL("/%s/deployments/activity_log?environments_filter=%s", r.FullName(), url.QueryEscape(env.name)),
		"created_at":               ts(env.created),
		"updated_at":               ts(env.updated),
		"protection_rules":         []any{},
		"can_admins_bypass":        true,
		"deployment_branch_policy": nil,
	}
}

func (e *Emulator) listEnvironments(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var envs []*environment
	for _, env := range rp.environments {
		envs = append(envs, env)
	}
	slices.SortFunc(envs, func(a, b *environment) int { return strings.Compare(a.name, b.name) })
	start, end := paginate(w, r, len(envs))
	out := []any{}
	for _, env := range envs[start:end] {
		out = append(out, rp.environmentJSON(env))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(envs), "environments": out})
}

func (e *Emulator) getEnvironment(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	env, ok := rp.environments[r.PathValue("name")]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, rp.environmentJSON(env))
}
