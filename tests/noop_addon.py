"""The floor any script addon pays: the same hooks as cors_creds, doing nothing.
Used by the offline benchmark."""


class Noop:
    def load(self, loader):
        pass

    def configure(self, updated):
        pass

    def running(self):
        pass

    def request(self, flow):
        pass

    def response(self, flow):
        pass

    def done(self):
        pass


addons = [Noop()]
