// Package identity gives the deploy engine AWS credentials per environment:
// it assumes the account's deploy role with STS AssumeRole, setting
// SourceIdentity to the GitHub login of the person behind the action and
// session tags for the PR and release, so CloudTrail attributes every call
// to a person. No long-lived keys are configured anywhere.
package identity

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/parcelflow/conveyor/config"
)

// Session says on whose behalf, for which PR and release, calls are made.
type Session struct {
	// Actor is the GitHub login that triggered the action (the merger, for auto-deploys).
	Actor   string
	PR      int
	Release string
	// Reason is why (promote, merge, rollback…); it becomes a session tag too.
	Reason string
}

// Provider returns the AWS config for calls into one environment's account.
type Provider interface {
	Config(ctx context.Context, env *config.Environment, s Session) (aws.Config, error)
}

// Static is the embedded-defaults provider: fixed credentials for local
// S3-compatible servers, no STS.
type Static struct {
	AccessKey, SecretKey string
}

// Config returns a config with the static credentials and the env's region.
func (p Static) Config(_ context.Context, env *config.Environment, _ Session) (aws.Config, error) {
	region := env.Region
	if region == "" {
		region = "us-east-1"
	}
	ak, sk := p.AccessKey, p.SecretKey
	if ak == "" {
		ak, sk = "local", "local"
	}
	return aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")}, nil
}

// AssumeRole assumes each environment's deploy role from the base config
// (Conveyor's own identity: an instance or task role, or web identity).
type AssumeRole struct {
	Base aws.Config
	// STSEndpoint overrides the STS endpoint (tests, VPC endpoints).
	STSEndpoint string
	// Duration of the session (default 1 h: a deploy must finish inside it).
	Duration time.Duration
}

// Config returns a config whose credentials come from AssumeRole on env's
// deploy role, tagged with the session.
func (p *AssumeRole) Config(ctx context.Context, env *config.Environment, s Session) (aws.Config, error) {
	if env.DeployRoleARN == "" {
		return aws.Config{}, fmt.Errorf("identity: environment %s has no deploy_role_arn", env.Name)
	}
	if err := ValidateSession(s); err != nil {
		return aws.Config{}, err
	}
	stsClient := sts.NewFromConfig(p.Base, func(o *sts.Options) {
		if p.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(p.STSEndpoint)
		}
		if env.Region != "" {
			o.Region = env.Region
		}
	})
	dur := p.Duration
	if dur <= 0 {
		dur = time.Hour
	}
	prov := stscreds.NewAssumeRoleProvider(stsClient, env.DeployRoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = SessionName(s.Actor, env.Name)
		o.SourceIdentity = aws.String(SourceIdentity(s.Actor))
		o.Duration = dur
		o.Tags = Tags(s, env.Name)
	})
	cfg := p.Base.Copy()
	cfg.Region = env.Region
	cfg.Credentials = aws.NewCredentialsCache(prov)
	return cfg, nil
}

// Tags are the session tags of s: actor, pr, release, env and reason.
func Tags(s Session, env string) []ststypes.Tag {
	tag := func(k, v string) ststypes.Tag {
		return ststypes.Tag{Key: aws.String(k), Value: aws.String(tagValue(v))}
	}
	tags := []ststypes.Tag{tag("actor", s.Actor), tag("env", env)}
	if s.PR > 0 {
		tags = append(tags, tag("pr", strconv.Itoa(s.PR)))
	}
	if s.Release != "" {
		tags = append(tags, tag("release", s.Release))
	}
	if s.Reason != "" {
		tags = append(tags, tag("reason", s.Reason))
	}
	return tags
}

var (
	// SourceIdentity: 2–64 characters of [\w+=,.@-].
	sourceIdentityRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	sessionBad       = regexp.MustCompile(`[^\w+=,.@-]`)
	tagBad           = regexp.MustCompile(`[^\p{L}\p{Z}\p{N}_.:/=+\-@]`)
)

// ErrBadActor is returned when the actor cannot be a SourceIdentity.
var ErrBadActor = errors.New("actor is not a valid AWS SourceIdentity")

// SourceIdentity is the SourceIdentity of a GitHub login: the login itself,
// except that an app's "NAME[bot]" becomes "NAME@bot". STS refuses the
// brackets, and no person's login can hold an "@", so the mapping names
// the same actor and no other.
func SourceIdentity(login string) string {
	if name, ok := strings.CutSuffix(login, "[bot]"); ok && name != "" {
		return name + "@bot"
	}
	return login
}

// ValidateSession checks that s can be sent to STS: the actor's
// SourceIdentity must be valid, since silently rewriting any other login
// would misattribute calls.
func ValidateSession(s Session) error {
	if !sourceIdentityRe.MatchString(SourceIdentity(s.Actor)) {
		return fmt.Errorf("identity: %q: %w (2–64 of letters, digits and +=,.@_-)", s.Actor, ErrBadActor)
	}
	if strings.HasPrefix(strings.ToLower(s.Actor), "aws:") {
		return fmt.Errorf("identity: %q: %w (the aws: prefix is reserved)", s.Actor, ErrBadActor)
	}
	return nil
}

// SessionName is the role session name: conveyor-ENV-ACTOR, within STS's 64 characters.
func SessionName(actor, env string) string {
	n := sessionBad.ReplaceAllString("conveyor-"+env+"-"+actor, "_")
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

func tagValue(v string) string {
	v = tagBad.ReplaceAllString(v, "_")
	if len(v) > 256 {
		v = v[:256]
	}
	return v
}
