package airflow_test

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

type (
	s3ListInput  = s3.ListObjectsV2Input
	s3ListOutput = s3.ListObjectsV2Output
	s3Options    = s3.Options
)

func putInput(bucket, key, body string) *s3.PutObjectInput {
	return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body), ContentLength: aws.Int64(int64(len(body)))}
}
