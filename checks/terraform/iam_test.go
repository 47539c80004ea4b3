package terraform

import "testing"

func TestOnlyPassRole(t *testing.T) {
	tests := []struct {
		action string
		want   bool
	}{
		{"iam:PassRole", true},
		{"iam:Pass*", true},
		{"IAM:passrole", true},
		{"iam:Pa*", true},
		{"iam:P*", false}, // iam:PutRolePolicy too
		{"iam:*", false},
		{"*", false},
		{"iam:*Role", false}, // iam:CreateRole too
		{"s3:PutObject", false},
		{"iam:GetRole", false},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			if got := onlyPassRole(tt.action); got != tt.want {
				t.Errorf("onlyPassRole(%q) = %v, want %v", tt.action, got, tt.want)
			}
		})
	}
}

func TestConditionRestricts(t *testing.T) {
	tests := []struct {
		name      string
		c         condition
		kind      policyKind
		principal string
		want      bool
	}{
		{"org id", condition{op: "StringEquals", key: "aws:PrincipalOrgID", values: []string{"o-abc"}}, trustPolicy, "AWS", true},
		{"key case does not matter", condition{op: "stringequals", key: "AWS:SourceAccount", values: []string{"111111111111"}}, trustPolicy, "*", true},
		{"external id", condition{op: "StringEquals", key: "sts:ExternalId", values: []string{"x-1"}}, trustPolicy, "AWS", true},
		{"source arn with ArnLike", condition{op: "ArnLike", key: "aws:SourceArn", values: []string{"arn:aws:s3:::bucket"}}, resourcePolicy, "*", true},
		{"ForAnyValue prefix", condition{op: "ForAnyValue:StringLike", key: "aws:PrincipalOrgPaths", values: []string{"o-a/r-b/*"}}, trustPolicy, "AWS", true},
		{"secure transport", condition{op: "Bool", key: "aws:SecureTransport", values: []string{"true"}}, trustPolicy, "AWS", false},
		{"source ip", condition{op: "IpAddress", key: "aws:SourceIp", values: []string{"10.0.0.0/8"}}, resourcePolicy, "*", false},
		{"IfExists passes requests without the key", condition{op: "StringEqualsIfExists", key: "aws:PrincipalOrgID", values: []string{"o-abc"}}, trustPolicy, "AWS", false},
		{"negated operator", condition{op: "StringNotEquals", key: "aws:PrincipalOrgID", values: []string{"o-abc"}}, trustPolicy, "AWS", false},
		{"only wildcards", condition{op: "StringLike", key: "aws:PrincipalArn", values: []string{"*"}}, trustPolicy, "AWS", false},
		{"one wildcard among the values opens it", condition{op: "StringLike", key: "token.actions.githubusercontent.com:sub", values: []string{"repo:a/b:*", "*"}}, trustPolicy, "Federated", false},
		{"any repository", condition{op: "StringLike", key: "token.actions.githubusercontent.com:sub", values: []string{"repo:*"}}, trustPolicy, "Federated", false},
		{"any account's principals", condition{op: "ArnLike", key: "aws:PrincipalArn", values: []string{"arn:aws:iam::*:*"}}, trustPolicy, "AWS", false},
		{"one account's roles", condition{op: "ArnLike", key: "aws:PrincipalArn", values: []string{"arn:aws:iam::111111111111:role/*"}}, trustPolicy, "AWS", true},
		{"oidc subject", condition{op: "StringLike", key: "token.actions.githubusercontent.com:sub", values: []string{"repo:parcelflow/data:*"}}, trustPolicy, "Federated", true},
		{"github audience is everyone's", condition{op: "StringEquals", key: "token.actions.githubusercontent.com:aud", values: []string{"sts.amazonaws.com"}}, trustPolicy, "Federated", false},
		{"cognito audience names a pool", condition{op: "StringEquals", key: "cognito-identity.amazonaws.com:aud", values: []string{"eu-west-1:pool"}}, trustPolicy, "Federated", true},
		{"a token claim does not restrict an AWS principal", condition{op: "StringEquals", key: "token.actions.githubusercontent.com:sub", values: []string{"repo:a/b:ref:refs/heads/main"}}, trustPolicy, "AWS", false},
		{"vpc endpoint confines a bucket policy", condition{op: "StringEquals", key: "aws:SourceVpce", values: []string{"vpce-0123"}}, resourcePolicy, "*", true},
		{"vpc endpoint does not confine a trust", condition{op: "StringEquals", key: "aws:SourceVpce", values: []string{"vpce-0123"}}, trustPolicy, "AWS", false},
		{"unknown value gets the benefit of the doubt", condition{op: "StringEquals", key: "aws:PrincipalOrgID", unknown: true}, trustPolicy, "AWS", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.restricts(tt.kind, tt.principal); got != tt.want {
				t.Errorf("restricts = %v, want %v", got, tt.want)
			}
		})
	}
}
