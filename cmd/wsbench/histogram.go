package main

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in buckets about 3 % wide (32 per power of
// two), so that percentiles of millions of samples cost a fixed 16 × 15 KiB.
// Recording is lock-free; connections record into one of histShards shards
// chosen by their index, so the two cores rarely share a cache line.
type histogram struct {
	shards [histShards][histBuckets]atomic.Uint64
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits) * histSub
	histShards  = 16
)

// histBucket returns the bucket of v nanoseconds: exact below 32 ns, then
// 32 buckets per power of two.
func histBucket(v int64) int {
	if v < histSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - histSubBits - 1
	return (e+1)*histSub + int((uint64(v)>>e)&(histSub-1))
}

// histValue returns the middle of bucket i.
func histValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := i/histSub - 1
	lo := int64(histSub+i%histSub) << e
	return lo + (int64(1)<<e)/2
}

func (h *histogram) record(shard int, d time.Duration) {
	h.shards[shard%histShards][histBucket(int64(d))].Add(1)
}

// summary is what a histogram held when it was taken.
type summary struct {
	n             uint64
	p50, p99, max time.Duration
}

// take returns the counts and empties the histogram.
func (h *histogram) take() *histCounts {
	var merged histCounts
	for i := range h.shards {
		for j := range h.shards[i] {
			merged[j] += h.shards[i][j].Swap(0)
		}
	}
	return &merged
}

// histCounts is a histogram taken, owned by one goroutine.
type histCounts [histBuckets]uint64

// add adds o's counts to c.
func (c *histCounts) add(o *histCounts) {
	for j := range c {
		c[j] += o[j]
	}
}

// summary returns the count, median, 99th percentile and maximum.
func (c *histCounts) summary() summary {
	var s summary
	for _, n := range c {
		s.n += n
	}
	if s.n == 0 {
		return s
	}
	rank := func(q float64) uint64 { return max(1, uint64(q*float64(s.n)+0.999999)) }
	r50, r99 := rank(0.50), rank(0.99)
	var seen uint64
	for j, n := range c {
		if n == 0 {
			continue
		}
		before := seen
		seen += n
		v := time.Duration(histValue(j))
		if before < r50 && seen >= r50 {
			s.p50 = v
		}
		if before < r99 && seen >= r99 {
			s.p99 = v
		}
		s.max = v
	}
	return s
}

func (s summary) String() string {
	return fmt.Sprintf("n=%d p50_ns=%d p99_ns=%d max_ns=%d", s.n, s.p50.Nanoseconds(), s.p99.Nanoseconds(), s.max.Nanoseconds())
}
