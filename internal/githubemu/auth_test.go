package githubemu

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
)

func TestClientCreatorExchangesJWTForInstallationToken(t *testing.T) {
	emu := New(Options{})
	base, stop := emu.Start()
	defer stop()
	emu.CreateRepo("parcelflow", "data-platform", "main").Commit("main", map[string]string{"a.txt": "a"}, "init", "alice")

	var cfg githubapp.Config
	cfg.V3APIURL = base + "/"
	cfg.App.IntegrationID = emu.AppID()
	cfg.App.PrivateKey = string(emu.AppPrivateKeyPEM())
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cc.NewInstallationClient(emu.InstallationID())
	if err != nil {
		t.Fatal(err)
	}
	repo, _, err := client.Repositories.Get(context.Background(), "parcelflow", "data-platform")
	if err != nil {
		t.Fatalf("get repo through installation client: %v", err)
	}
	if repo.GetDefaultBranch() != "main" {
		t.Errorf("default branch = %q", repo.GetDefaultBranch())
	}
	if n := len(emu.CallsTo("POST", "/app/installations/2002/access_tokens")); n != 1 {
		t.Errorf("token exchanges = %d, want 1", n)
	}

	appClient, err := cc.NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	inst, _, err := appClient.Apps.FindRepositoryInstallation(context.Background(), "parcelflow", "data-platform")
	if err != nil || inst.GetID() != emu.InstallationID() {
		t.Fatalf("repo installation = %v, %v", inst.GetID(), err)
	}
}

func TestJWTRejections(t *testing.T) {
	emu := New(Options{})
	base, stop := emu.Start()
	defer stop()
	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(otherKey)})

	tests := []struct {
		name    string
		appID   int64
		key     []byte
		skew    time.Duration // emulator clock minus real clock
		wantErr bool
	}{
		{"valid", emu.AppID(), emu.AppPrivateKeyPEM(), 0, false},
		{"wrong key", emu.AppID(), otherPEM, 0, true},
		{"wrong issuer", emu.AppID() + 1, emu.AppPrivateKeyPEM(), 0, true},
		{"expired", emu.AppID(), emu.AppPrivateKeyPEM(), 20 * time.Minute, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			emu.opts.Now = func() time.Time { return time.Now().Add(tc.skew) }
			defer func() { emu.opts.Now = time.Now }()
			tr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, tc.appID, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			tr.BaseURL = base
			c, _ := github.NewClient(&http.Client{Transport: tr}).WithEnterpriseURLs(base, base)
			_, _, err = c.Apps.ListInstallations(context.Background(), nil)
			var er *github.ErrorResponse
			if tc.wantErr {
				if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnauthorized {
					t.Fatalf("err = %v, want 401", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestAPIAuth(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"token scheme", "token " + f.emu.InstallationToken(), 200},
		{"bearer scheme", "Bearer " + f.emu.InstallationToken(), 200},
		{"missing", "", 401},
		{"unknown token", "token ghs_nope", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, "GET", f.base+"/api/v3/repos/parcelflow/data-platform", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			if resp.Header.Get("X-GitHub-Request-Id") == "" {
				t.Error("no X-GitHub-Request-Id")
			}
		})
	}

	f.emu.RevokeTokens()
	if _, _, err := f.gh.Repositories.Get(ctx, "parcelflow", "data-platform"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("after revocation err = %v, want 401", err)
	}
}
