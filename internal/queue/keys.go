package queue

// Every Redis key of the queue is built by a function in this file. All keys
// of one vendor carry the hash tag {v:<vendor>}, so a script that touches one
// vendor's keys runs on one Redis Cluster slot. The only key outside a vendor's
// slot is vendorsKey, which no script touches.

// vendorTag is the hash tag shared by all keys of one vendor.
func (q *Queue) vendorTag(vendor string) string { return q.prefix + ":{v:" + vendor + "}" }

// jobKey is a HASH holding one job (see the field names in scripts.go).
// Bound: a done job expires after the queue's retention (168h), a dead one is deleted after retention.dead (janitor), the rest are live work.
func (q *Queue) jobKey(vendor, id string) string { return q.jobPrefix(vendor) + id }

// jobPrefix is the prefix of every job HASH of a vendor; scripts append the
// job id to it to reach a job that is named by a member of a sorted set.
func (q *Queue) jobPrefix(vendor string) string { return q.vendorTag(vendor) + ":job:" }

// dueKey is a ZSET of job ids that may be claimed once their score (unix ms of
// the next attempt) has passed. Only the head job of each group is in it.
// Bound: live work only (a job leaves when it is done or dead).
func (q *Queue) dueKey(vendor string) string { return q.vendorTag(vendor) + ":due" }

// leaseKey is a ZSET of leased job ids scored by lease expiry (unix ms).
// Bound: live work only (a job leaves when it is done or dead).
func (q *Queue) leaseKey(vendor string) string { return q.vendorTag(vendor) + ":lease" }

// deadKey is a ZSET of dead job ids scored by the time they died (unix ms).
// Bound: retention.dead (janitor).
func (q *Queue) deadKey(vendor string) string { return q.vendorTag(vendor) + ":dead" }

// liveKey is a ZSET of every job that is pending, leased or waiting behind its
// group's head, scored by the time it was (re)queued (unix ms); it gives the
// depth and the age of the oldest job.
// Bound: live work only (a job leaves when it is done or dead).
func (q *Queue) liveKey(vendor string) string { return q.vendorTag(vendor) + ":live" }

// groupKey is a LIST of the job ids of one ordering group in enqueue order; its
// head is the only one of them in the due or lease set.
// Bound: live work only (a job leaves when it is done or dead).
func (q *Queue) groupKey(vendor, group string) string { return q.groupPrefix(vendor) + group }

// groupPrefix is the prefix of every group LIST of a vendor; scripts append a
// job's group to it.
func (q *Queue) groupPrefix(vendor string) string { return q.vendorTag(vendor) + ":group:" }

// holdKey is a STRING "<start ms>:<end ms>", the vendor's offline window.
// Bound: one per vendor; expires a day after its window ends.
func (q *Queue) holdKey(vendor string) string { return q.vendorTag(vendor) + ":hold" }

// wakeKey is a STREAM (capped to its last entry) that scripts append to when
// work may have become due; Wait blocks on it with XREAD.
// Bound: MAXLEN 1.
func (q *Queue) wakeKey(vendor string) string { return q.vendorTag(vendor) + ":wake" }

// vendorsKey is a SET of every vendor that ever had a job; Reap walks it.
// Bound: one member per vendor.
func (q *Queue) vendorsKey() string { return q.prefix + ":vendors" }
