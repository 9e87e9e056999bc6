package share

// cred is a peer's process, user and group IDs.
type cred struct{ PID, UID, GID int }
