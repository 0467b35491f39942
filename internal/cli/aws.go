package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
)

// maxAttempts bounds the SDK's adaptive retries on throttling and 5xx.
const maxAttempts = 10

// loadAWS loads the SDK configuration the standard way (environment,
// shared config and credentials files, AWS_ENDPOINT_URL, IMDS), with the
// adaptive retry mode so throttled reads slow down instead of failing.
func loadAWS(ctx context.Context, profile, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
					so.MaxAttempts = maxAttempts
				})
			})
		}),
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	var noProfile config.SharedConfigProfileNotExistError
	switch {
	case errors.As(err, &noProfile):
		where := "the shared config and credentials files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)"
		if len(noProfile.Filename) > 0 {
			where = strings.Join(noProfile.Filename, " or ")
		}
		return aws.Config{}, fmt.Errorf("AWS profile %q not found in %s", noProfile.Profile, where)
	case err != nil:
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// awsConfig loads the configuration for region and fails early, with a
// clear message, when there is no region or no credentials.
func (a *App) awsConfig(ctx context.Context, g *globals, region string) (aws.Config, error) {
	cfg, err := a.LoadAWS(ctx, g.profile, region)
	if err != nil {
		return aws.Config{}, err
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("no AWS region: pass --region or set AWS_REGION (or a region in your profile)")
	}
	if cfg.Credentials == nil {
		return aws.Config{}, errNoCredentials
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("%w: %v", errNoCredentials, firstLine(err.Error()))
	}
	return cfg, nil
}

var errNoCredentials = errors.New("no AWS credentials: set AWS_PROFILE or pass --profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")

// explain turns an AWS error into one line a user can act on.
func explain(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
			return fmt.Errorf("access denied: %s", firstLine(ae.ErrorMessage()))
		case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch":
			return fmt.Errorf("the AWS credentials are not valid (%s): check AWS_PROFILE / --profile", ae.ErrorCode())
		case "ExpiredToken", "ExpiredTokenException":
			return errors.New("the AWS credentials have expired: refresh them (e.g. aws sso login)")
		}
	}
	return err
}

// notFound reports whether err is ECS's answer for an unknown task
// definition ("ClientException: Unable to describe task definition.").
func notFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	msg := strings.ToLower(ae.ErrorMessage())
	return (ae.ErrorCode() == "ClientException" || ae.ErrorCode() == "InvalidParameterException") &&
		(strings.Contains(msg, "unable to describe task definition") || strings.Contains(msg, "does not exist") || strings.Contains(msg, "not found"))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
