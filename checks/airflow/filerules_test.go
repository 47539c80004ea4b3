package airflow

import (
	"regexp"
	"testing"
)

// TestIsSecretName pins which names hold a credential, and keeps the string
// matcher equal to the regular expressions it replaced (kept here as the
// specification).
func TestIsSecretName(t *testing.T) {
	secretKey := regexp.MustCompile(`(?i)(^|_)(password|passwd|pwd|secret|token|api_?key|access_?key|secret_?key|private_?key|client_secret)($|_)`)
	notValue := regexp.MustCompile(`(?i)(_id|_ids|_name|_env|_var|_path|_file|_arn|_conn|_field|_header|_url|_type|_prefix|_backend|_kwargs|_length|_ttl|_expiry|_uri_template)$`)
	cases := []struct {
		name string
		want bool
	}{
		{"password", true}, {"PASSWORD", true}, {"db_password", true}, {"password_old", true},
		{"apikey", true}, {"api_key", true}, {"API_KEY", true}, {"x_api_key_2", true},
		{"aws_secret_access_key", true}, {"access_key", true}, {"client_secret", true}, {"private_key", true},
		{"slack_token", true}, {"pwd", true}, {"secretkey", true},
		{"password_env", false}, {"token_path", false}, {"secret_arn", false}, {"api_key_id", false},
		{"passwords", false}, {"tokenizer", false}, {"mysecret", false}, {"access_keys", false},
		{"task_id", false}, {"sql", false}, {"", false}, {"_", false}, {"secret_uri_template", false},
		{"token_", true}, {"_token", true}, {"a_pwd_b", true}, {"pwdx_pwd", true}, {"xpwd_pwdx", false},
	}
	for _, tc := range cases {
		if got := isSecretName(tc.name); got != tc.want {
			t.Errorf("isSecretName(%q) = %v, want %v", tc.name, got, tc.want)
		}
		if ref := secretKey.MatchString(tc.name) && !notValue.MatchString(tc.name); ref != tc.want {
			t.Errorf("reference disagrees on %q: %v", tc.name, ref)
		}
	}
	// Every two-part combination of the words and suffixes involved.
	parts := []string{"", "_", "x", "db", "password", "passwd", "pwd", "secret", "token", "api", "key", "apikey", "access", "private",
		"client", "id", "ids", "env", "path", "uri", "template", "Token", "KEY", "tokens"}
	for _, a := range parts {
		for _, b := range parts {
			for _, sep := range []string{"", "_"} {
				name := a + sep + b
				want := secretKey.MatchString(name) && !notValue.MatchString(name)
				if got := isSecretName(name); got != want {
					t.Errorf("isSecretName(%q) = %v, the regexps say %v", name, got, want)
				}
			}
		}
	}
}
