package metrics

import "github.com/prometheus/client_golang/prometheus"

// snapshot accumulates one scrape's observations for a constant histogram.
// It lives for one Collect call only.
type snapshot struct {
	bounds []float64
	counts []uint64 // counts[i]: observations <= bounds[i] and > bounds[i-1]
	count  uint64
	sum    float64
}

func newSnapshot(bounds []float64) *snapshot {
	return &snapshot{bounds: bounds, counts: make([]uint64, len(bounds))}
}

func (s *snapshot) observe(v float64) {
	s.count++
	s.sum += v
	for i, b := range s.bounds {
		if v <= b {
			s.counts[i]++
			return
		}
	}
	// Above the last bound: only in +Inf, which is count.
}

// metric returns the constant histogram, with cumulative bucket counts as
// Prometheus wants them.
func (s *snapshot) metric(d *prometheus.Desc) prometheus.Metric {
	cum := make(map[float64]uint64, len(s.bounds))
	var n uint64
	for i, b := range s.bounds {
		n += s.counts[i]
		cum[b] = n
	}
	m, err := prometheus.NewConstHistogram(d, s.count, s.sum, cum)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
