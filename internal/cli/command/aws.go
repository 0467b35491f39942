package command

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/cli/explain"
	"github.com/ecslogfix/ecslogfix/internal/consumer"
)

// maxAttempts bounds the SDK's adaptive retries on throttling and 5xx: a
// person waits for the CLI, so it tries harder than a function.
const maxAttempts = 10

// LoadAWS loads the SDK configuration the standard way (environment,
// shared config and credentials files, AWS_ENDPOINT_URL, IMDS). Retries,
// timeouts and pacing are the client factory's (awsclient).
func LoadAWS(ctx context.Context, profile, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
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
func (f *Factory) awsConfig(ctx context.Context, region string) (aws.Config, error) {
	cfg, err := f.LoadAWS(ctx, f.Profile, region)
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
		return aws.Config{}, fmt.Errorf("%w: %v", errNoCredentials, explain.FirstLine(err.Error()))
	}
	return cfg, nil
}

// Clients loads the configuration for region and returns the one client
// factory every command uses, with the given read and register rates.
func (f *Factory) Clients(ctx context.Context, region string, opt awsclient.Options) (*awsclient.Factory, error) {
	cfg, err := f.awsConfig(ctx, region)
	if err != nil {
		return nil, err
	}
	opt.MaxAttempts = maxAttempts
	return awsclient.New(cfg, opt), nil
}

var errNoCredentials = errors.New("no AWS credentials: set AWS_PROFILE or pass --profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")

// CheckReadRate is the usage error of a --read-rate flag outside the
// range awsclient.ValidReadRate accepts, or nil.
func CheckReadRate(cmd *cobra.Command, rate float64) error {
	if !awsclient.ValidReadRate(rate) {
		return Usagef(cmd, "--read-rate must be more than 0 and at most %g reads per second", awsclient.MaxReadRate)
	}
	return nil
}

// ConsumerClients are the factory's clients for consumer.List and Move in
// scope (the zero Scope: the factory's own region and credentials).
func ConsumerClients(factory *awsclient.Factory, scope awsclient.Scope) *consumer.Clients {
	e, errE := factory.ECS(scope)
	ev, errV := factory.Events(scope)
	sc, errS := factory.Scheduler(scope)
	if errE != nil || errV != nil || errS != nil { // the scope was made already: it has a region
		return nil
	}
	return &consumer.Clients{ECS: e, Events: ev, Scheduler: sc}
}
