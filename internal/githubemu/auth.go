package githubemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

//lint:file-ignore ST1005 the error strings are GitHub's answers, word for word

// Errors from app JWT verification; GitHub answers all of them with 401.
var (
	errJWTMalformed = errors.New("A JSON web token could not be decoded")
	errJWTSignature = errors.New("A JSON web token could not be decoded: bad signature")
	errJWTExpired   = errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	errJWTTooLong   = errors.New("'Expiration time' claim ('exp') is too far in the future")
	errJWTIssued    = errors.New("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	errJWTIssuer    = errors.New("'Issuer' claim ('iss') must be an Integer")
)

// verifyJWT checks an app JWT the way GitHub does: RS256 over the app's public key, an
// unexpired exp at most ten minutes ahead (a minute of clock drift allowed), iat not in
// the future, and iss equal to the app ID.
func (e *Emulator) verifyJWT(tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errJWTMalformed
	}
	hdrJSON, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	claimsJSON, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return errJWTMalformed
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdrJSON, &hdr) != nil || hdr.Alg != "RS256" {
		return errJWTMalformed
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&e.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return errJWTSignature
	}
	var claims struct {
		Iat json.Number `json:"iat"`
		Exp json.Number `json:"exp"`
		Iss any         `json:"iss"`
	}
	if json.Unmarshal(claimsJSON, &claims) != nil {
		return errJWTMalformed
	}
	now := e.now().Unix()
	exp, err := claims.Exp.Int64()
	if err != nil || exp <= now {
		return errJWTExpired
	}
	if exp > now+int64((11*time.Minute).Seconds()) {
		return errJWTTooLong
	}
	iat, err := claims.Iat.Int64()
	if err != nil || iat > now+60 {
		return errJWTIssued
	}
	var iss string
	switch v := claims.Iss.(type) {
	case string:
		iss = v
	case float64:
		iss = strconv.FormatInt(int64(v), 10)
	}
	if iss != strconv.FormatInt(e.opts.AppID, 10) {
		return errJWTIssuer
	}
	return nil
}

func bearer(r *http.Request) (scheme, cred string) {
	scheme, cred, _ = strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.ToLower(scheme), strings.TrimSpace(cred)
}

// authorize enforces GitHub's two identities: /app endpoints take the app JWT, everything
// else an installation token ("token" or "Bearer" scheme). The repo installation lookup
// takes either.
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request) bool {
	scheme, cred := bearer(r)
	p := r.URL.Path
	jwtOnly := p == "/app" || strings.HasPrefix(p, "/app/")
	jwtAllowed := jwtOnly || (strings.HasPrefix(p, "/repos/") && strings.HasSuffix(p, "/installation"))
	if jwtAllowed && scheme == "bearer" && strings.Count(cred, ".") == 2 {
		if err := e.verifyJWT(cred); err != nil {
			writeError(w, http.StatusUnauthorized, err.Error())
			return false
		}
		return true
	}
	if jwtOnly {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return false
	}
	if (scheme == "token" || scheme == "bearer") && e.tokenValid(cred) {
		return true
	}
	writeError(w, http.StatusUnauthorized, "Bad credentials")
	return false
}

func (e *Emulator) tokenValid(tok string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	exp, ok := e.tokens[tok]
	return ok && e.now().Before(exp)
}

// mintToken needs e.mu held.
func (e *Emulator) mintToken() (string, time.Time) {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	tok := "ghs_" + hex.EncodeToString(b)
	exp := e.now().Add(e.opts.TokenTTL).Truncate(time.Second)
	e.tokens[tok] = exp
	return tok, exp
}

// InstallationToken mints an installation token directly, for tests that build their own
// go-github client without going through the JWT exchange.
func (e *Emulator) InstallationToken() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	tok, _ := e.mintToken()
	return tok
}

// RevokeTokens invalidates every installation token, as when an app's installation is
// suspended or its tokens are revoked; clients must exchange a new JWT.
func (e *Emulator) RevokeTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens = map[string]time.Time{}
}

func (e *Emulator) appPermissions() map[string]string {
	return map[string]string{
		"checks": "write", "contents": "read", "deployments": "write", "issues": "write",
		"metadata": "read", "pull_requests": "write", "members": "read", "statuses": "write",
	}
}

// installationJSON needs e.mu held.
func (e *Emulator) installationJSON() map[string]any {
	id := e.opts.InstallationID
	return map[string]any{
		"id":                   id,
		"node_id":              fmt.Sprintf("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u%d", id),
		"account":              e.userJSON(e.opts.Account),
		"app_id":               e.opts.AppID,
		"app_slug":             e.opts.AppSlug,
		"target_id":            e.user(e.opts.Account).id,
		"target_type":          "Organization",
		"repository_selection": "all",
		"access_tokens_url":    e.apiURL("/app/installations/%d/access_tokens", id),
		"repositories_url":     e.apiURL("/installation/repositories"),
		"html_url":             e.htmlURL("/organizations/%s/settings/installations/%d", e.opts.Account, id),
		"permissions":          e.appPermissions(),
		"events":               []string{"check_run", "check_suite", "issue_comment", "merge_group", "pull_request", "pull_request_review", "push", "membership", "team"},
		"created_at":           "2024-01-01T00:00:00Z",
		"updated_at":           "2024-01-01T00:00:00Z",
		"single_file_name":     nil,
		"suspended_at":         nil,
	}
}

func (e *Emulator) getApp(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": e.opts.AppID, "slug": e.opts.AppSlug, "name": e.opts.AppSlug,
		"owner": e.userJSON(e.opts.Account), "permissions": e.appPermissions(),
		"html_url": e.htmlURL("/apps/%s", e.opts.AppSlug), "installations_count": 1,
	})
}

func (e *Emulator) listInstallations(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	paginate(w, r, 1)
	writeJSON(w, http.StatusOK, []any{e.installationJSON()})
}

func (e *Emulator) getInstallation(w http.ResponseWriter, r *http.Request) {
	id, _ := pathInt(r, "id")
	if id != e.opts.InstallationID {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, e.installationJSON())
}

func (e *Emulator) createAccessToken(w http.ResponseWriter, r *http.Request) {
	id, _ := pathInt(r, "id")
	if id != e.opts.InstallationID {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	tok, exp := e.mintToken()
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": tok, "expires_at": ts(exp), "permissions": e.appPermissions(), "repository_selection": "all",
	})
}

func (e *Emulator) getRepoInstallation(w http.ResponseWriter, r *http.Request) {
	repo, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	_ = repo
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, e.installationJSON())
}

func (e *Emulator) listInstallationRepos(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	repos := e.sortedRepos()
	start, end := paginate(w, r, len(repos))
	out := []any{}
	for _, rp := range repos[start:end] {
		out = append(out, rp.json())
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(repos), "repository_selection": "all", "repositories": out})
}
