package console

import "testing"

func TestConsoleLinksArePartitionAware(t *testing.T) {
	cases := []struct{ partition, region, want string }{
		{"aws", "us-east-1", "https://us-east-1.console.aws.amazon.com/ecs/v2/task-definitions/app/3?region=us-east-1"},
		{"aws-cn", "cn-north-1", "https://cn-north-1.console.amazonaws.cn/ecs/v2/task-definitions/app/3?region=cn-north-1"},
		{"aws-us-gov", "us-gov-west-1", "https://us-gov-west-1.console.amazonaws-us-gov.com/ecs/v2/task-definitions/app/3?region=us-gov-west-1"},
		{"aws-iso", "us-iso-east-1", ""},
		{"aws", "us-east-1\nevil", ""},
	}
	for _, c := range cases {
		if got := TaskDefinition(c.partition, c.region, "app", 3); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.partition, c.region, got, c.want)
		}
	}
	exec := "arn:aws:states:eu-west-1:111122223333:execution:sm:name-1"
	if got, want := Execution(exec), "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/"+exec; got != want {
		t.Errorf("execution link %q, want %q", got, want)
	}
}

func TestS3ObjectOnlyInTheCommercialPartition(t *testing.T) {
	if got, want := S3Object("aws", "eu-west-1", "b", "r/k.csv"), "https://s3.console.aws.amazon.com/s3/object/b?region=eu-west-1&prefix=r/k.csv"; got != want {
		t.Errorf("aws: %q, want %q", got, want)
	}
	for _, p := range []string{"aws-cn", "aws-us-gov", "aws-iso"} {
		if got := S3Object(p, "cn-north-1", "b", "k"); got != "" {
			t.Errorf("%s: %q, want none", p, got)
		}
	}
}
