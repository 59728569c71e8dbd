// Command queue benchmarks the gateway's delay queue against asynq's
// scheduled tasks on one redis-server: deliveries per second released from an
// offline window into a local sink, and the latency from the window's end to
// the first delivery.
//
//	go run ./bench/queue -redis 127.0.0.1:6379 [-jobs 10000] [-runs 3]
//
// It writes only keys under its own random prefix and queue name and deletes
// them afterwards.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/equus/sogateway/bench"
	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("redis", "127.0.0.1:6379", "redis-server address host:port")
	jobs := flag.Int("jobs", 10000, "deliveries held and released per run")
	workers := flag.Int("workers", 4, "gateway queue worker goroutines")
	batch := flag.Int("batch", 100, "gateway queue claim batch size")
	conc := flag.Int("asynq-concurrency", 64, "asynq handler goroutines")
	runs := flag.Int("runs", 3, "runs of each system")
	flag.Parse()

	rdb := redis.NewClient(&redis.Options{Addr: *addr, PoolSize: 32})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: redis %s: %v\n", *addr, err)
		os.Exit(1)
	}
	info, _ := rdb.Info(ctx, "server", "persistence").Result()
	fmt.Printf("redis %s, %s\n", *addr, summary(info))
	cfg := bench.Config{Jobs: *jobs, Workers: *workers, Batch: *batch, AsynqConcurrency: *conc}
	var ourRate, theirRate float64
	var ratios []float64
	for i := 0; i < *runs; i++ {
		ours, theirs, err := bench.Compare(ctx, rdb, *addr, cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(ours)
		fmt.Println(theirs)
		ourRate += ours.Rate()
		theirRate += theirs.Rate()
		ratios = append(ratios, ours.Rate()/theirs.Rate())
	}
	sort.Float64s(ratios)
	fmt.Printf("mean rate: sogateway %.0f/s, asynq %.0f/s, ratio of means %.2fx, median ratio %.2fx\n",
		ourRate/float64(*runs), theirRate/float64(*runs), ourRate/theirRate, ratios[len(ratios)/2])
}

// summary picks the version and persistence settings out of INFO.
func summary(info string) string {
	var out []string
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "redis_version:") || strings.HasPrefix(line, "aof_enabled:") ||
			strings.HasPrefix(line, "appendfsync:") {
			out = append(out, line)
		}
	}
	return strings.Join(out, " ")
}
