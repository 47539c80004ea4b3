package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/store"
)

// BenchmarkPolicyOnReview times deciding conveyor/policy on a review, with
// the team membership cache warm and with it emptied before every decision,
// and reports the GitHub calls each takes and the cold/warm time ratio.
func BenchmarkPolicyOnReview(b *testing.B) {
	h := newPolicyHarness(b, false)
	pr := h.openPR(b, "infra-change", devops1, map[string]string{"infra/main.tf": "resource \"aws_s3_bucket\" \"raw\" { bucket = \"b\" }\n"}, false)
	pr.Review(devops2, "APPROVED", "")
	ps := store.NewPolicyStore(h.db)
	measure := func(b *testing.B, cold bool) time.Duration {
		h.emu.ResetCalls()
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			if cold {
				b.StopTimer()
				for _, team := range []string{"devops", "data-eng", "data-eng-leads"} {
					if err := ps.ForgetTeam(context.Background(), org, team); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			h.deliver(b, "pull_request_review")
		}
		elapsed := time.Since(start)
		b.ReportMetric(float64(len(h.emu.Calls()))/float64(b.N), "github-calls/decision")
		if run := h.policyRun(b, pr.HeadSHA()); run.Conclusion != "success" {
			b.Fatalf("policy %s, want success", run.Conclusion)
		}
		return elapsed / time.Duration(b.N)
	}
	var warm time.Duration
	b.Run("warm", func(b *testing.B) { warm = measure(b, false) })
	b.Run("cold", func(b *testing.B) {
		cold := measure(b, true)
		if warm > 0 {
			b.ReportMetric(float64(cold)/float64(warm), "cold/warm")
		}
	})
}
