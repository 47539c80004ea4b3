package artifacts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// LocalS3 is an in-process S3-compatible server (gofakes3, in memory, with
// object versioning) for embedded defaults and tests. Clients reach it
// through the real SDK with a custom endpoint and path-style addressing.
type LocalS3 struct {
	// URL is the endpoint, e.g. http://127.0.0.1:41234.
	URL string
	srv *http.Server
	ln  net.Listener
}

// StartLocalS3 serves an empty in-memory S3 on a free loopback port. wrap,
// if not nil, wraps the handler (tests inject faults there).
func StartLocalS3(wrap func(http.Handler) http.Handler) (*LocalS3, error) {
	faker := gofakes3.New(s3mem.New(), gofakes3.WithTimeSkewLimit(0))
	var h http.Handler = faker.Server()
	if wrap != nil {
		h = wrap(h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("artifacts: starting local S3: %w", err)
	}
	l := &LocalS3{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h}, ln: ln}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

// Close stops the server.
func (l *LocalS3) Close() error { return l.srv.Close() }

// Client returns an SDK client for the server; httpClient may be nil.
func (l *LocalS3) Client(httpClient *http.Client) *s3.Client {
	return NewClient(l.URL, "us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""), httpClient)
}

// NewClient builds an S3 client for an S3-compatible endpoint (path-style,
// checksums only where required, which every S3-compatible server accepts).
// An empty endpoint means AWS itself.
func NewClient(endpoint, region string, creds aws.CredentialsProvider, httpClient *http.Client, optFns ...func(*s3.Options)) *s3.Client {
	cfg := aws.Config{
		Region:                     region,
		Credentials:                creds,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if httpClient != nil {
		cfg.HTTPClient = httpClient
	}
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	}}, optFns...)...)
}

// EnsureBucket creates bucket if it does not exist and, when versioned,
// turns on object versioning (the Airflow deployer records version IDs).
func EnsureBucket(ctx context.Context, c *s3.Client, bucket string, versioned bool) error {
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		if !IsNotFound(err) {
			return fmt.Errorf("artifacts: looking up bucket %s: %w", bucket, err)
		}
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			var owned *s3types.BucketAlreadyOwnedByYou
			if !errors.As(err, &owned) {
				return fmt.Errorf("artifacts: creating bucket %s: %w", bucket, err)
			}
		}
	}
	if !versioned {
		return nil
	}
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		return fmt.Errorf("artifacts: enabling versioning on %s: %w", bucket, err)
	}
	return nil
}
