// Package luascript runs the gateway's Lua scripts by their SHA1 (EVALSHA),
// in pipelines too, so a commit does not send a script's text on every call.
// A pipeline cannot fall back on its own when Redis answers NOSCRIPT (after a
// restart, a failover or SCRIPT FLUSH emptied its script cache): Exec re-runs,
// with their text (EVAL, which also caches them again), exactly the scripts
// that failed so, and nothing else of the pipeline.
package luascript
