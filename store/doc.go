// Package store provides File, a crash-safe store of keyed records for
// the Store of package mqtt (Config.Store): the client's session survives
// the end of its process, a crash or SIGKILL, and, by policy, a power
// failure.
//
//	st, err := store.Open("/var/lib/app/mqtt", store.Options{})
//	...
//	defer st.Close()
//	cfg.Store = st
//
// # Design
//
// A File keeps one append-only log in its directory. Put and Delete encode
// a record into a buffer in memory and update an index from key to the
// position of its latest record; they never do I/O, since the client calls
// them under its own lock. Sync writes the buffer with one write(2) and
// fsyncs per Options.SyncInterval. Concurrent Syncs share that write and
// fsync (group commit), so a burst of publishes costs one fsync, not one
// each. Record data is not kept in memory once written: Load reads it
// back.
//
// One file per record was the alternative, and the worse one: durably
// creating a file takes a write, an fsync of the file and an fsync of the
// directory, and removing one a journaled unlink, for every message; a
// burst cannot share them; Open must list and read a directory of
// thousands of small files; and a crash can leave files half-written
// under final names unless each goes through its own rename. The log turns
// all of that into sequential appends that many records share.
//
// # Format
//
// The log (store.log) is a sequence of records: a 20-byte header (2 magic
// bytes, the operation put or delete, a reserved byte, the 64-bit key, the
// 32-bit data length, a CRC-32C of the header's other fields and the data)
// and the data. A length over MaxDataSize is corruption, so a damaged
// length never makes Open allocate or read much.
//
// # Recovery
//
// Open replays the log, holding one 64 KiB window of it in memory, in time
// linear in its size whatever it contains. An incomplete last record (a
// write cut short by a crash) or a zero-filled tail (what some file
// systems leave after a power failure) is a torn tail: it is cut off. A
// record that fails its checks and is followed by a valid one is
// corruption: the bytes from it to the next valid record (found by trying
// each later offset) are copied to a quarantine file in the directory,
// named after the time, and replay goes on. Neither is an error: Open
// reports both through Options.Logger and File.Recovery, and rewrites the
// log after a quarantine so that the next Open finds it clean.
//
// # Compaction
//
// When the log is over Options.CompactMin (4 MiB) and more than twice the
// size of its live records, the Sync that finds it so rewrites the live
// records to store.log.tmp, fsyncs it, renames it over the log and fsyncs
// the directory: a crash at any point leaves the old log or the new one
// whole. That Sync and those that need a write meanwhile wait for it; Put
// and Delete do not.
//
// # Locking
//
// Open takes an exclusive flock(2) on store.lock in the directory, so a
// second Open, in this process or another, fails with ErrLocked until
// Close. Where package syscall has no flock (Windows, Solaris, AIX) the
// lock does nothing and the store is built but untested.
package store
