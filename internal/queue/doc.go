// Package queue is the gateway's Redis delay queue for outbound deliveries.
//
// Each job is one Redis hash; per vendor, a due sorted set orders what may be
// claimed, a lease sorted set tracks what workers hold and until when, and a
// dead sorted set keeps what failed for good. Every move between these sets is
// one Lua script that reads the time from Redis TIME, so replicas never trust
// their own clocks and no move is ever half done. Jobs of one group (an order)
// leave strictly in enqueue order, a vendor may be held through an offline
// window without spending attempts, and lease tokens fence Ack, Retry and Bury
// so that a worker whose lease was reclaimed cannot overwrite the new holder.
// All keys of one vendor share the hash tag {v:<vendor>}, so the queue runs on
// Redis Cluster. See docs/queue.md for the design and how it avoids the job
// losses seen in asynq, Sidekiq and BullMQ.
package queue
