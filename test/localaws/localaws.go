// Package localaws is ecslogfix's one local AWS for tests, in the spirit of
// controller-runtime's envtest: it starts moto through the pinned launcher
// scripts/moto_server.py, Lambda bootstraps under the AWS Lambda Runtime
// Interface Emulator and, on request, the fault proxy (test/faultproxy) in
// front of moto, all on 127.0.0.1, and hands out their endpoints and SDK
// configurations.
//
// The building blocks (StartMoto, BuildBootstrap, StartFunction) take a
// context and return errors, for the stack harness and the demo; the test
// entry points (Shared, Start, NewFunction, Bootstrap) end the test
// instead: a missing tool skips it, or fails it when
// ECSLOGFIX_REQUIRE_TOOLS=1 (`make test`, CI). Every child runs in its own
// process group, is stopped with its group, and on Linux is killed by the
// kernel when the test binary dies, so none outlives it.
package localaws

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The account, region and partition moto answers for with the dummy
// credentials.
const (
	Account   = "123456789012"
	Region    = "us-east-1"
	Partition = "aws"
)

// Config is an SDK configuration for endpoint (moto, or a proxy in front
// of it): Region, static dummy credentials, the SDK's default retryer. It
// reads nothing from the environment or ~/.aws, so a developer's settings
// cannot change a test. Clients made from one Config share its connections.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   awshttp.NewBuildableClient(),
	}
}

// LambdaEnv is the environment a Lambda function (or any program using the
// SDK's default configuration) needs to reach endpoint as if it were AWS.
func LambdaEnv(endpoint string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":          endpoint,
		"AWS_ACCESS_KEY_ID":         "test",
		"AWS_SECRET_ACCESS_KEY":     "test",
		"AWS_SESSION_TOKEN":         "test",
		"AWS_REGION":                Region,
		"AWS_DEFAULT_REGION":        Region,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}
