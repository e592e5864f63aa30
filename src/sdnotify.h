/* The service manager's readiness protocol (sd_notify(3)), written out: one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET. No libsystemd; a no-op when the variable is unset. */
#ifndef CONCORDKV_SDNOTIFY_H
#define CONCORDKV_SDNOTIFY_H

/* Send STATE ("READY=1", "STOPPING=1", "STATUS=...", lines joined by '\n') to the service
 * manager. Returns 1 when sent, 0 when $NOTIFY_SOCKET is unset (not started by systemd with
 * Type=notify), -1 on an error (errno set; the caller logs and carries on). */
int sdnotify_send(const char *state);

#endif
