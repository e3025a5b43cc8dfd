# Invites an administrator with Debian's python3-duo-client (4.5):
# activate_admin, then lists the pending activation links. Arguments:
# ikey skey host ca_file email. Prints one JSON object; any error exits
# non-zero.
import json
import sys

import duo_client

ikey, skey, host, ca, email = sys.argv[1:6]
name, _, port = host.rpartition(":")
admin = duo_client.Admin(ikey=ikey, skey=skey, host=name, ca_certs=ca, port=int(port))
out = {}
out["created"] = admin.activate_admin(email, send_email=False, valid_days=3, admin_role="Help Desk")
out["pending"] = admin.json_api_call("GET", "/admin/v1/admins/activations", {})
print(json.dumps(out))
