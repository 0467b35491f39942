package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// backoutECS is the part of the ECS API backout uses.
type backoutECS interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	ListServices(ctx context.Context, in *ecs.ListServicesInput, optFns ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
}

// backoutLogs is the part of the CloudWatch Logs API backout uses.
type backoutLogs interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	DeleteLogGroup(ctx context.Context, in *cloudwatchlogs.DeleteLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
}

type backoutOptions struct {
	taskDefinition string
	clusters       []string
	deleteLogGroup bool
	apply          bool
}

func (a *App) backoutCommand(g *globals) *cobra.Command {
	o := &backoutOptions{}
	cmd := &cobra.Command{
		Use:   "backout --task-definition FAMILY:REV [--cluster C ...] [--delete-log-group] [--apply]",
		Short: "Undo a revision ecslogfix registered (dry run by default)",
		Long: `backout undoes one remediation: it refuses any revision ecslogfix did not
register (no ` + config.TagSource + ` tag). With --apply it moves the
services of the given clusters that run the revision back to the source
revision (UpdateService), deregisters the revision (so the family's latest
ACTIVE revision is the source again), and with --delete-log-group deletes
each log group of the revision that ecslogfix created (tag
` + config.TagManaged + `), that the source revision does not use and that
holds no log streams. Without --apply it prints what it would do.

Exit status: 0 on success, 2 on errors or when the revision is not one
ecslogfix registered.`,
		Example: `  # What would be undone
  ecslogfix backout --task-definition orders-api:15 --cluster prod

  # Undo it, and delete the log group ecslogfix created if still empty
  ecslogfix backout --task-definition orders-api:15 --cluster prod --delete-log-group --apply`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.taskDefinition == "" {
				return usagef(cmd, "--task-definition FAMILY:REV is required")
			}
			if err := validRevision(o.taskDefinition); err != nil {
				return usagef(cmd, "--task-definition %q: %v", o.taskDefinition, err)
			}
			region, err := oneRegion(cmd, g)
			if err != nil {
				return err
			}
			cfg, err := a.awsConfig(cmd.Context(), g, region)
			if err != nil {
				return err
			}
			b := &backout{ecs: ecs.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg), region: cfg.Region, out: cmd.OutOrStdout()}
			return b.run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.taskDefinition, "task-definition", "", "the revision ecslogfix registered: FAMILY:REV or its ARN")
	f.StringArrayVar(&o.clusters, "cluster", nil, "cluster whose services may run the revision (repeatable)")
	f.BoolVar(&o.deleteLogGroup, "delete-log-group", false, "also delete the log groups ecslogfix created for it, when empty")
	f.BoolVar(&o.apply, "apply", false, "make the changes (default: dry run)")
	return cmd
}

// validRevision accepts FAMILY:REV or a task definition ARN (which always
// names a revision).
func validRevision(s string) error {
	if strings.HasPrefix(s, "arn:") {
		_, err := taskdef.ParseARN(s)
		return err
	}
	if !strings.Contains(s, ":") {
		return errors.New("name the revision: FAMILY:REV")
	}
	return validTarget(s)
}

type backout struct {
	ecs    backoutECS
	logs   backoutLogs
	region string
	out    io.Writer
}

func (b *backout) run(ctx context.Context, o *backoutOptions) error {
	d, err := b.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(o.taskDefinition),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		if notFound(err) {
			return fmt.Errorf("backout: task definition %s not found in %s", o.taskDefinition, b.region)
		}
		return fmt.Errorf("backout: %w", explain(err))
	}
	td := d.TaskDefinition
	arn := aws.ToString(td.TaskDefinitionArn)
	rev, ours := taskdef.SourceRevision(d.Tags)
	if !ours {
		return fmt.Errorf("backout: %s was not registered by ecslogfix (no valid %s tag): refusing to touch it", arn, config.TagSource)
	}
	a, err := taskdef.ParseARN(arn)
	if err != nil {
		return fmt.Errorf("backout: %w", err)
	}
	a.Revision = rev
	sourceARN := a.String()
	verb := func(dry, done string) string {
		if o.apply {
			return done
		}
		return "would " + dry
	}
	fmt.Fprintf(b.out, "%s was registered by ecslogfix from %s\n", arn, sourceARN)

	// 1. Services back to the source revision.
	for _, cluster := range o.clusters {
		services, err := b.servicesUsing(ctx, cluster, arn)
		if err != nil {
			return fmt.Errorf("backout: cluster %s: %w", cluster, explain(err))
		}
		if len(services) == 0 {
			fmt.Fprintf(b.out, "cluster %s: no service runs %s\n", cluster, arn)
		}
		for _, svc := range services {
			if o.apply {
				if _, err := b.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
					Cluster: aws.String(cluster), Service: aws.String(svc), TaskDefinition: aws.String(sourceARN),
				}); err != nil {
					return fmt.Errorf("backout: update service %s in %s: %w", svc, cluster, explain(err))
				}
			}
			fmt.Fprintf(b.out, "%s service %s in cluster %s to %s\n", verb("move", "moved"), svc, cluster, sourceARN)
		}
	}
	if len(o.clusters) == 0 {
		fmt.Fprintln(b.out, "no --cluster given: services running it were not looked for")
	}

	// 2. Deregister the revision.
	if td.Status == types.TaskDefinitionStatusActive {
		if o.apply {
			if _, err := b.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
				return fmt.Errorf("backout: deregister %s: %w", arn, explain(err))
			}
		}
		fmt.Fprintf(b.out, "%s %s\n", verb("deregister", "deregistered"), arn)
	} else {
		fmt.Fprintf(b.out, "%s is already %s\n", arn, td.Status)
	}

	// 3. Log groups ecslogfix created for it.
	if o.deleteLogGroup {
		if err := b.logGroups(ctx, td, sourceARN, o.apply); err != nil {
			return err
		}
	}
	if o.apply {
		if latest, err := b.latestActive(ctx, aws.ToString(td.Family)); err == nil && latest != "" {
			fmt.Fprintf(b.out, "latest ACTIVE revision of %s: %s\n", aws.ToString(td.Family), latest)
		}
	} else {
		fmt.Fprintln(b.out, "dry run: nothing changed; add --apply")
	}
	return nil
}

// servicesUsing lists the services of cluster whose task definition is arn.
func (b *backout) servicesUsing(ctx context.Context, cluster, arn string) ([]string, error) {
	var using []string
	p := ecs.NewListServicesPaginator(b.ecs, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for batch := range slices.Chunk(page.ServiceArns, 10) {
			d, err := b.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
			if err != nil {
				return nil, err
			}
			for _, s := range d.Services {
				if aws.ToString(s.TaskDefinition) == arn {
					using = append(using, aws.ToString(s.ServiceName))
				}
			}
		}
	}
	return using, nil
}

// latestActive returns the ARN of family's highest ACTIVE revision, or "".
func (b *backout) latestActive(ctx context.Context, family string) (string, error) {
	out, err := b.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), // the exact family for this API
		Status:       types.TaskDefinitionStatusActive,
		Sort:         types.SortOrderDesc,
	})
	if err != nil {
		return "", err
	}
	best, bestRev := "", int32(0)
	for _, s := range out.TaskDefinitionArns {
		if a, err := taskdef.ParseARN(s); err == nil && a.Family == family && a.Revision > bestRev {
			best, bestRev = s, a.Revision
		}
	}
	return best, nil
}

type logGroupRef struct{ name, region string }

func awslogsGroups(td *types.TaskDefinition, defaultRegion string) []logGroupRef {
	var refs []logGroupRef
	for _, c := range td.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || lc.LogDriver != types.LogDriverAwslogs || lc.Options["awslogs-group"] == "" {
			continue
		}
		r := logGroupRef{name: lc.Options["awslogs-group"], region: firstNonEmpty(lc.Options["awslogs-region"], defaultRegion)}
		if !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
	}
	return refs
}

// logGroups deletes (or says it would delete) the revision's log groups
// that ecslogfix created, that the source does not use, and that are empty.
func (b *backout) logGroups(ctx context.Context, td *types.TaskDefinition, sourceARN string, apply bool) error {
	src, err := b.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(sourceARN)})
	if err != nil {
		fmt.Fprintf(b.out, "log groups kept: cannot read the source revision to see which groups it uses: %v\n", explain(err))
		return nil
	}
	used := awslogsGroups(src.TaskDefinition, b.region)
	for _, g := range awslogsGroups(td, b.region) {
		if slices.Contains(used, g) {
			fmt.Fprintf(b.out, "log group %s kept: the source revision uses it\n", g.name)
			continue
		}
		if g.region != b.region {
			fmt.Fprintf(b.out, "log group %s kept: it is in %s; run backout with --region %s to check it\n", g.name, g.region, g.region)
			continue
		}
		keep, err := b.keepLogGroup(ctx, g.name)
		if err != nil {
			return fmt.Errorf("backout: log group %s: %w", g.name, explain(err))
		}
		if keep != "" {
			fmt.Fprintf(b.out, "log group %s kept: %s\n", g.name, keep)
			continue
		}
		if apply {
			if _, err := b.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(g.name)}); err != nil {
				return fmt.Errorf("backout: delete log group %s: %w", g.name, explain(err))
			}
			fmt.Fprintf(b.out, "deleted log group %s\n", g.name)
		} else {
			fmt.Fprintf(b.out, "would delete log group %s\n", g.name)
		}
	}
	return nil
}

// keepLogGroup returns why the group must not be deleted, or "".
func (b *backout) keepLogGroup(ctx context.Context, name string) (string, error) {
	out, err := b.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(out.LogGroups, func(g cwltypes.LogGroup) bool { return aws.ToString(g.LogGroupName) == name })
	if i < 0 {
		return "it does not exist", nil
	}
	g := out.LogGroups[i]
	if aws.ToBool(g.DeletionProtectionEnabled) {
		return "deletion protection is enabled", nil
	}
	arn := strings.TrimSuffix(aws.ToString(g.Arn), ":*")
	if arn == "" {
		arn = aws.ToString(g.LogGroupArn)
	}
	tags, err := b.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return "", err
	}
	if tags.Tags[config.TagManaged] != "true" {
		return "ecslogfix did not create it (no " + config.TagManaged + "=true tag)", nil
	}
	streams, err := b.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(name), Limit: aws.Int32(1)})
	if err != nil {
		return "", err
	}
	if len(streams.LogStreams) > 0 {
		return "it holds log streams", nil
	}
	return "", nil
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
