// The limit for child-process calls: fork IPC ping-pong (JSON serialization), no framework.
process.on('message', (m) => process.send(m));
