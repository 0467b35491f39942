package faultproxy

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// What ECS does that moto 5.2.1 does not, answered here (docs/reliability.md
// has the details; offline-testing.md "moto's gaps"): UpdateService with a
// taskDefinition is refused with InvalidParameterException on a CODE_DEPLOY
// or EXTERNAL service (moto accepts it), and every UpdateService is
// recorded, so a test can assert what was sent. On an ECS-controller
// service a new revision starts a rolling deployment that DescribeServices
// shows IN_PROGRESS, then COMPLETED, or FAILED and rolled back as ECSConfig
// says; moto keeps its one creation-time deployment. Other ECS calls, and
// these two for services the proxy has not seen updated, pass through.

// AWS's messages for UpdateService with a taskDefinition on a service
// whose controller is not ECS. The CODE_DEPLOY text is quoted in the
// public record (aws/aws-cdk#11243, #23564; ecs-facts.md); the EXTERNAL
// one follows its pattern (an EXTERNAL service's revision lives in its task
// sets) and is not confirmed against AWS.
const (
	CodeDeployUpdateMessage = "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment."
	ExternalUpdateMessage   = "Unable to update task definition on services with a EXTERNAL deployment controller. Use a task set to trigger a new deployment."
)

// DefaultFailureReason is the rolloutStateReason of a failed deployment
// when DeploymentFailure.Reason is empty (the circuit breaker's wording).
const DefaultFailureReason = "ECS deployment circuit breaker: tasks failed to start."

// ECSConfig shapes the ECS deployment model.
type ECSConfig struct {
	// Polls is how many DescribeServices answers show a new deployment
	// IN_PROGRESS before it settles (0: settled at the first).
	Polls int
	// Fail makes the next deployment of the named services fail.
	Fail map[string]DeploymentFailure
}

// DeploymentFailure is how a deployment fails.
type DeploymentFailure struct {
	Reason string
	// Rollback: the circuit breaker's rollback is on, and ECS points the
	// service back at its previous revision.
	Rollback bool
}

// ECSUpdate is one UpdateService request the proxy saw (not faulted).
type ECSUpdate struct {
	Cluster, Service string
	// Fields are the request's top-level JSON members, sorted.
	Fields         []string
	TaskDefinition string
	// Refused names the deployment controller (CODE_DEPLOY, EXTERNAL)
	// when the proxy answered as AWS does: InvalidParameterException.
	Refused string
}

// deployment is one deployment of the model.
type deployment struct {
	id, td, state, reason string
	polls                 int
	created               time.Time
}

// rollout is what the model shows of a service's deployments: the newest
// (PRIMARY) and the one before it.
type rollout struct{ primary, previous deployment }

// ecsModel holds the deployments of the services updated through the proxy.
type ecsModel struct {
	mu       sync.Mutex
	cfg      ECSConfig
	services map[string]*rollout // by service ARN
	updates  []ECSUpdate
	seq      int
}

// ECSUpdates returns the UpdateService requests seen so far.
func (p *Proxy) ECSUpdates() []ECSUpdate {
	p.ecs.mu.Lock()
	defer p.ecs.mu.Unlock()
	return slices.Clone(p.ecs.updates)
}

// Refused returns the UpdateService requests answered with AWS's refusal.
func (p *Proxy) Refused() []ECSUpdate {
	return slices.DeleteFunc(p.ECSUpdates(), func(u ECSUpdate) bool { return u.Refused == "" })
}

// serve answers UpdateService and DescribeServices with the model; it
// reports false for any other call.
func (m *ecsModel) serve(x *exchange) bool {
	switch x.call.API {
	case "ecs:UpdateService":
		m.updateService(x)
	case "ecs:DescribeServices":
		x.forward(func(out map[string]any) {
			services, _ := out["services"].([]any)
			for _, s := range services {
				if svc, ok := s.(map[string]any); ok {
					if back := m.advance(svc); back != "" {
						m.rollBack(x, svc, back)
					}
					m.rewrite(svc)
				}
			}
		})
	default:
		return false
	}
	return true
}

// str is m's string member k ("" when it is none).
func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func (m *ecsModel) updateService(x *exchange) {
	var req map[string]any
	x.decode(&req)
	u := ECSUpdate{Cluster: str(req, "cluster"), Service: str(req, "service"), TaskDefinition: str(req, "taskDefinition"),
		Fields: slices.Sorted(maps.Keys(req))}
	var before *ecstypes.Service // the service as moto has it
	if u.TaskDefinition != "" {
		out, err := ecs.NewFromConfig(x.aws()).DescribeServices(x.r.Context(), &ecs.DescribeServicesInput{
			Cluster: aws.String(cmp.Or(u.Cluster, "default")), Services: []string{u.Service}}) // ECS's default cluster
		if err != nil {
			http.Error(x.w, err.Error(), http.StatusBadGateway)
			return
		}
		if len(out.Services) > 0 {
			before = &out.Services[0]
			if dc := before.DeploymentController; dc != nil && dc.Type != ecstypes.DeploymentControllerTypeEcs {
				u.Refused = string(dc.Type)
			}
		}
	}
	m.mu.Lock()
	m.updates = append(m.updates, u)
	m.mu.Unlock()
	if u.Refused != "" {
		msg := map[string]string{"CODE_DEPLOY": CodeDeployUpdateMessage, "EXTERNAL": ExternalUpdateMessage}[u.Refused]
		x.fail(http.StatusBadRequest, "InvalidParameterException", msg)
		return
	}
	x.forward(func(out map[string]any) {
		if svc, _ := out["service"].(map[string]any); svc != nil && before != nil && u.TaskDefinition != aws.ToString(before.TaskDefinition) {
			m.startDeployment(before, svc)
			m.rewrite(svc)
		}
	})
}

// startDeployment records a deployment of svc's new revision; the one
// before it is the previous revision's, completed.
func (m *ecsModel) startDeployment(before *ecstypes.Service, svc map[string]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ro := m.services[str(svc, "serviceArn")]
	if ro == nil {
		ro = &rollout{primary: deployment{id: "ecs-svc/faultproxy-initial", td: aws.ToString(before.TaskDefinition), state: "COMPLETED", created: time.Now()}}
		if len(before.Deployments) > 0 {
			ro.primary.id = cmp.Or(aws.ToString(before.Deployments[0].Id), ro.primary.id)
		}
		m.services[str(svc, "serviceArn")] = ro
	}
	ro.previous = ro.primary
	if ro.previous.state == "IN_PROGRESS" {
		ro.previous.state = "COMPLETED" // superseded by the new one; its tasks are replaced too
	}
	ro.primary = m.newDeployment(str(svc, "taskDefinition"), "IN_PROGRESS")
}

// newDeployment is a deployment of td, starting in state.
func (m *ecsModel) newDeployment(td, state string) deployment {
	m.seq++
	return deployment{id: fmt.Sprintf("ecs-svc/faultproxy%07d", m.seq), td: td, state: state, created: time.Now()}
}

// advance moves svc's newest deployment on by one answer; it returns the
// revision to roll back to when the deployment just failed with the
// circuit breaker's rollback on.
func (m *ecsModel) advance(svc map[string]any) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ro := m.services[str(svc, "serviceArn")]
	if ro == nil || ro.primary.state != "IN_PROGRESS" {
		return ""
	}
	ro.primary.polls++
	if ro.primary.polls <= m.cfg.Polls {
		return ""
	}
	name := str(svc, "serviceName")
	f, fails := m.cfg.Fail[name]
	if !fails {
		ro.primary.state = "COMPLETED"
		return ""
	}
	delete(m.cfg.Fail, name) // once: the put-back deployment completes
	ro.primary.state, ro.primary.reason = "FAILED", cmp.Or(f.Reason, DefaultFailureReason)
	if !f.Rollback {
		return ""
	}
	ro.previous, ro.primary = ro.primary, m.newDeployment(ro.previous.td, "COMPLETED")
	return ro.primary.td
}

// rollBack points the service back at td upstream, as ECS's circuit
// breaker does, and in the answer being written.
func (m *ecsModel) rollBack(x *exchange, svc map[string]any, td string) {
	if _, err := ecs.NewFromConfig(x.aws()).UpdateService(x.r.Context(), &ecs.UpdateServiceInput{
		Cluster: aws.String(str(svc, "clusterArn")), Service: aws.String(str(svc, "serviceArn")), TaskDefinition: &td}); err == nil {
		svc["taskDefinition"] = td
	}
}

// rewrite replaces svc's deployments with the model's: the newest is
// PRIMARY; a completed newest one is alone (the old tasks are gone) unless
// the one before it failed, an unfinished one is listed with the one
// before it.
func (m *ecsModel) rewrite(svc map[string]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ro := m.services[str(svc, "serviceArn")]
	if ro == nil {
		return
	}
	desired, _ := svc["desiredCount"].(float64)
	out := []any{ro.primary.answer("PRIMARY", desired)}
	if ro.primary.state != "COMPLETED" || ro.previous.state == "FAILED" {
		out = append(out, ro.previous.answer("ACTIVE", desired))
	}
	svc["deployments"] = out
}

// answer is d as DescribeServices lists it, with status, in a service of
// desired tasks: a deployment that has not completed runs none of them.
func (d deployment) answer(status string, desired float64) map[string]any {
	running := desired
	if d.state != "COMPLETED" {
		running = 0
	}
	dep := map[string]any{
		"id": d.id, "status": status, "taskDefinition": d.td, "rolloutState": d.state,
		"desiredCount": desired, "runningCount": running, "pendingCount": desired - running,
		"createdAt": float64(d.created.Unix()), "updatedAt": float64(time.Now().Unix()),
	}
	if d.reason != "" {
		dep["rolloutStateReason"] = d.reason
	}
	return dep
}
