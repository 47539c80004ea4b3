package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/parcelflow/conveyor/config"
)

// fakeSTS speaks the STS Query API's AssumeRole and keeps every form it got.
type fakeSTS struct {
	mu    sync.Mutex
	forms []url.Values
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "AssumeRole" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>only AssumeRole</Message></Error></ErrorResponse>`)
		return
	}
	if !strings.Contains(r.Header.Get("Authorization"), "Credential=CONVEYORBASE/") {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>%s</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::333333333333:assumed-role/conveyor-deploy/%s</Arn>
      <AssumedRoleId>AROAEXAMPLE:%s</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAASSUMED</AccessKeyId>
      <SecretAccessKey>assumed-secret</SecretAccessKey>
      <SessionToken>assumed-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <PackedPolicySize>12</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, r.PostForm.Get("SourceIdentity"), r.PostForm.Get("RoleSessionName"), r.PostForm.Get("RoleSessionName"))
}

func TestAssumeRoleCarriesSourceIdentityAndTags(t *testing.T) {
	fake := &fakeSTS{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p := &AssumeRole{
		Base:        aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("CONVEYORBASE", "base-secret", "")},
		STSEndpoint: srv.URL,
	}
	env := &config.Environment{Name: "prod", Region: "eu-west-1", DeployRoleARN: "arn:aws:iam::333333333333:role/conveyor-deploy"}
	cfg, err := p.Config(context.Background(), env, Session{Actor: "alice", PR: 42, Release: "3f2a9c1d0b7e", Reason: "promote"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAASSUMED" || creds.SessionToken != "assumed-token" {
		t.Fatalf("credentials not from AssumeRole: %+v", creds)
	}
	if len(fake.forms) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(fake.forms))
	}
	form := fake.forms[0]
	tags := map[string]string{}
	for i := 1; form.Get(fmt.Sprintf("Tags.member.%d.Key", i)) != ""; i++ {
		tags[form.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	checks := []struct{ name, got, want string }{
		{"RoleArn", form.Get("RoleArn"), env.DeployRoleARN},
		{"RoleSessionName", form.Get("RoleSessionName"), "conveyor-prod-alice"},
		{"SourceIdentity", form.Get("SourceIdentity"), "alice"},
		{"DurationSeconds", form.Get("DurationSeconds"), "3600"},
		{"tag actor", tags["actor"], "alice"},
		{"tag pr", tags["pr"], "42"},
		{"tag release", tags["release"], "3f2a9c1d0b7e"},
		{"tag env", tags["env"], "prod"},
		{"tag reason", tags["reason"], "promote"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %q, want %q (form %v)", c.got, c.want, form)
			}
		})
	}
}

func TestSessionValidation(t *testing.T) {
	tests := []struct {
		actor string
		ok    bool
	}{
		{"alice", true},
		{"data-eng-lead", true},
		{"dependabot[bot]", true},
		{"[bot]", false},
		{"alice]", false},
		{"a", false},
		{"aws:root", false},
		{strings.Repeat("x", 65), false},
	}
	for _, tc := range tests {
		t.Run(tc.actor, func(t *testing.T) {
			err := ValidateSession(Session{Actor: tc.actor})
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadActor)) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if _, err := (&AssumeRole{}).Config(context.Background(), &config.Environment{Name: "dev"}, Session{Actor: "alice"}); err == nil || !strings.Contains(err.Error(), "deploy_role_arn") {
		t.Fatalf("missing role ARN must be named, got %v", err)
	}
	if got := SourceIdentity("github-merge-queue[bot]"); got != "github-merge-queue@bot" {
		t.Fatalf("SourceIdentity of an app = %q", got)
	}
	if got := SourceIdentity("alice"); got != "alice" {
		t.Fatalf("SourceIdentity of a person = %q", got)
	}
	if n := SessionName(strings.Repeat("x", 80), "prod"); len(n) != 64 {
		t.Fatalf("session name length %d", len(n))
	}
}
