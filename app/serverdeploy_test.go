package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/parcelflow/conveyor/config"
)

// fakeSecrets answers GetSecretValue from a map, and records what was asked.
type fakeSecrets struct {
	values map[string]string
	asked  []string
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	id := aws.ToString(in.SecretId)
	f.asked = append(f.asked, id)
	v, ok := f.values[id]
	if !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func TestSnowflakeLogins(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	const arn = "arn:aws:secretsmanager:eu-west-1:333333333333:secret:conveyor/snowflake-prod"
	env := map[string]string{"SF_DEV_PW": "dev-password", "SF_STAGING_KEY": keyPEM, "SF_EMPTY": ""}
	secrets := &fakeSecrets{values: map[string]string{arn: "prod-password"}}
	logins := &snowflakeLogins{
		logins: map[string]config.SnowflakeLogin{
			"dev":     {User: "CONVEYOR", PasswordEnv: "SF_DEV_PW"},
			"staging": {User: "CONVEYOR", PrivateKeyEnv: "SF_STAGING_KEY"},
			"prod":    {User: "CONVEYOR", SecretARN: arn},
			"qa":      {User: "CONVEYOR", PasswordEnv: "SF_EMPTY"},
			"perf":    {User: "CONVEYOR", SecretARN: arn + "-missing"},
		},
		lookup: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		secrets: secrets,
	}
	tests := []struct {
		env          string
		wantPassword string
		wantKey      bool
		wantErr      string
	}{
		{env: "dev", wantPassword: "dev-password"},
		{env: "staging", wantKey: true},
		{env: "prod", wantPassword: "prod-password"},
		{env: "qa", wantErr: "environment variable SF_EMPTY is not set"},
		{env: "perf", wantErr: "deploy.snowflake.perf: reading secret " + arn + "-missing"},
		{env: "sandbox", wantErr: "no deploy.snowflake.sandbox login"},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			e := &config.Environment{Name: tc.env, Warehouse: config.WarehouseEnv{Type: "snowflake", Account: "acme-" + tc.env, Database: "ANALYTICS", Warehouse: "DEPLOY_WH", Role: "DEPLOYER"}}
			sc, err := logins.config(context.Background(), e)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				for _, secret := range []string{"dev-password", "prod-password", "PRIVATE KEY"} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("an error printed a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.Account != "acme-"+tc.env || sc.User != "CONVEYOR" || sc.Database != "ANALYTICS" || sc.Warehouse != "DEPLOY_WH" || sc.Role != "DEPLOYER" {
				t.Fatalf("config = %+v: the repo's warehouse settings were not carried over", sc)
			}
			if sc.Password != tc.wantPassword {
				t.Fatalf("password = %q, want %q", sc.Password, tc.wantPassword)
			}
			if (sc.PrivateKey != nil) != tc.wantKey || tc.wantKey && !sc.PrivateKey.Equal(key) {
				t.Fatalf("private key = %v, want the staging key: %v", sc.PrivateKey != nil, tc.wantKey)
			}
		})
	}
	if strings.Join(secrets.asked, ",") != arn+","+arn+"-missing" {
		t.Fatalf("Secrets Manager was asked for %v", secrets.asked)
	}
}

func TestServerDeploysRefusesAnUnknownMode(t *testing.T) {
	_, _, err := ServerDeploys(context.Background(), config.DeployConfig{Mode: "cloud"}, func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), `unknown deploy mode "cloud"`) {
		t.Fatalf("err = %v", err)
	}
}
