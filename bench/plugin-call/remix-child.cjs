// The same method behind the published Remix plugin client (@remixproject/plugin's connectClient)
// over fork IPC. (@remixproject/plugin-child-process on npm ships a WebSocket connector by mistake,
// so the IPC connector is the two lines below.)
const { PluginClient, connectClient } = require('@remixproject/plugin');

class Echo extends PluginClient {
  constructor() {
    super({ customApi: {} });
    this.methods = ['echo'];
  }
  echo(x) {
    return x;
  }
}
connectClient({ send: (m) => process.send(m), on: (cb) => process.on('message', cb) }, new Echo());
