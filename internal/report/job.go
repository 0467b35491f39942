package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/history"
)

// S3 is the part of the S3 API the monthly report reads the history and
// writes the report with.
type S3 interface {
	history.S3Reader
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Publisher announces the report (the notification topic).
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// OutcomeReport is the SNS outcome attribute of the monthly digest, so
// that subscribers filtering on outcomes choose whether they get it.
const OutcomeReport = "REPORT"

// Job is the scheduled report: the previous month's report written next to
// the history, and a digest on the notification topic that says where.
type Job struct {
	S3       S3
	SNS      Publisher
	History  history.Location
	Prefix   string // where reports go in the bucket, e.g. "reports"
	TopicARN string
	Now      func() time.Time
	Logger   *slog.Logger
}

// JobRequest is the report function's input: the month (YYYY-MM) to
// report, by default the previous one.
type JobRequest struct {
	Month string `json:"month,omitempty"`
}

// JobResult says what the run wrote.
type JobResult struct {
	Month        string   `json:"month"`
	Keys         []string `json:"keys"`
	Records      int      `json:"records"`
	Families     int      `json:"families"`
	NonCompliant int      `json:"nonCompliant"`
	MessageID    string   `json:"messageId,omitempty"`
}

// Handle writes the month's report as report.html, report.json and
// report.csv under PREFIX/YYYY-MM/ and publishes the digest.
func (j *Job) Handle(ctx context.Context, req JobRequest) (JobResult, error) {
	now := time.Now()
	if j.Now != nil {
		now = j.Now()
	}
	month := req.Month
	if month == "" {
		month = now.UTC().AddDate(0, -1, 0).Format("2006-01")
	}
	start, err := time.Parse("2006-01", month)
	if err != nil {
		return JobResult{}, fmt.Errorf("month %q is not YYYY-MM", month)
	}
	p := history.Period{From: start, To: start.AddDate(0, 1, -1)}
	recs, err := history.ReadS3(ctx, j.S3, j.History, p)
	if err != nil {
		return JobResult{}, err
	}
	r := Build(recs, p, now)
	var page, doc, table bytes.Buffer
	if err := r.HTML(&page); err != nil {
		return JobResult{}, err
	}
	if err := json.NewEncoder(&doc).Encode(r); err != nil {
		return JobResult{}, err
	}
	w := csv.NewWriter(&table)
	_ = w.Write(Columns)
	for _, row := range r.Rows() {
		for i := range row {
			row[i] = escape.CSV(row[i])
		}
		_ = w.Write(row)
	}
	w.Flush()
	res := JobResult{Month: month, Records: r.Records, Families: len(r.Families), NonCompliant: len(r.NonCompliant)}
	for _, o := range []struct {
		name, typ string
		body      []byte
	}{{"report.html", "text/html; charset=utf-8", page.Bytes()}, {"report.json", "application/json", doc.Bytes()}, {"report.csv", "text/csv", table.Bytes()}} {
		key := path.Join(j.Prefix, month, o.name)
		if _, err := j.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(j.History.Bucket), Key: aws.String(key), Body: bytes.NewReader(o.body),
			ContentType: aws.String(o.typ), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256}); err != nil {
			return JobResult{}, fmt.Errorf("put s3://%s/%s: %w", j.History.Bucket, key, err)
		}
		res.Keys = append(res.Keys, key)
	}
	out, err := j.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(j.TopicARN),
		Subject:  aws.String(fmt.Sprintf("[ecslogfix] compliance report %s: %d families, %d not compliant", month, res.Families, res.NonCompliant)),
		Message:  aws.String(digest(r, j.History.Bucket, res.Keys)),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"outcome": {DataType: aws.String("String"), StringValue: aws.String(OutcomeReport)},
		},
	})
	if err != nil {
		return JobResult{}, fmt.Errorf("publish the digest: %w", err)
	}
	res.MessageID = aws.ToString(out.MessageId)
	if j.Logger != nil {
		j.Logger.Info("report written", "month", month, "records", res.Records, "families", res.Families, "nonCompliant", res.NonCompliant, "messageId", res.MessageID)
	}
	return res, nil
}

// digest is the notification that announces a report.
func digest(r Report, bucket string, keys []string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "The ecslogfix compliance report for %s is ready:\n\n", r.period())
	for _, k := range keys {
		fmt.Fprintf(&b, "  s3://%s/%s\n", bucket, k)
	}
	b.WriteString("\n")
	_ = r.Text(&b)
	b.WriteString("\nOpen report.html in a browser (it is one self-contained page) or read report.csv in a spreadsheet.\n")
	return b.String()
}
