# Drives twostepd's Admin API with Debian's python3-duo-client (4.5), the
# way provisioning and reporting scripts do. Arguments: ikey skey host
# ca_file username. Prints one JSON object with what it saw; any error
# (duo_client raises RuntimeError on a non-OK answer) exits non-zero.
import json
import sys
import time
import warnings

import duo_client

warnings.simplefilter("ignore", DeprecationWarning)  # get_group(api_version=1)

ikey, skey, host, ca, username = sys.argv[1:6]
# duo_client takes the port apart from the host (and signs the host alone).
name, _, port = host.rpartition(":")
admin = duo_client.Admin(ikey=ikey, skey=skey, host=name, ca_certs=ca, port=int(port))
out = {}

staff = admin.create_group("Staff", desc="everyone", push_enabled=True)
contractors = admin.create_group("Contractors", status="bypass")
out["created"] = [staff["name"], contractors["status"]]
admin.modify_group(contractors["group_id"], desc="temporary", status="disabled")
out["modified"] = admin.get_group(contractors["group_id"], api_version=2)
out["modified_v1"] = admin.get_group(contractors["group_id"])["desc"]

user = admin.add_user(username)
admin.add_user_group(user["user_id"], staff["group_id"])
admin.add_user_group(user["user_id"], contractors["group_id"])
out["user_groups"] = [g["name"] for g in admin.get_user_groups(user["user_id"])]
out["user_groups_paged"] = [g["name"] for g in admin.get_user_groups(user["user_id"], limit=1, offset=1)]
out["user_object_groups"] = [g["name"] for g in admin.get_user_by_id(user["user_id"])["groups"]]
out["group_users"] = [u["username"] for u in admin.get_group_users(staff["group_id"])]
out["groups"] = [g["name"] for g in admin.get_groups()]
out["groups_paged"] = [g["name"] for g in admin.get_groups(limit=1, offset=1)]
admin.delete_user_group(user["user_id"], contractors["group_id"])
out["after_remove"] = [g["name"] for g in admin.get_user_groups(user["user_id"])]
admin.delete_group(contractors["group_id"])
out["after_delete"] = [g["name"] for g in admin.get_groups()]

now = int(time.time() * 1000)
logs = admin.get_authentication_log(api_version=2, mintime=now - 86400000, maxtime=now,
                                    groups=[staff["group_id"]])
out["authlog_v2_groups"] = [(e["user"]["name"], e["result"]) for e in logs["authlogs"]]
out["authlog_v2_total"] = logs["metadata"]["total_objects"]

# An authentication to log: a user in bypass, through an Auth API
# integration created here.
authapi = admin.create_integration("py auth", "authapi")
auth = duo_client.Auth(ikey=authapi["integration_key"], skey=authapi["secret_key"], host=name,
                       ca_certs=ca, port=int(port))
bypass = admin.add_user(username + "-bypass", status="bypass")
out["auth_bypass"] = auth.auth("auto", username=bypass["username"], device="auto")["result"]

# The v2 authentication log with Duo's filters, paged by next_offset.
now = int(time.time() * 1000) + 1000
page = admin.get_authentication_log(api_version=2, mintime=now - 86400000, maxtime=now, limit="1",
                                    event_types=["authentication"], results=["success"],
                                    users=[bypass["user_id"]], sort="ts:asc")
out["authlog_v2"] = [(e["user"]["name"], e["reason"]) for e in page["authlogs"]]
out["authlog_v2_next_offset"] = page["metadata"]["next_offset"]
after = admin.get_authentication_log(api_version=2, mintime=now - 86400000, maxtime=now, limit="1",
                                     users=[bypass["user_id"]], sort="ts:asc",
                                     next_offset=page["metadata"]["next_offset"])
out["authlog_v2_after"] = len(after["authlogs"])
out["authlog_v2_enrollment"] = len(admin.get_authentication_log(
    api_version=2, mintime=now - 86400000, maxtime=now, event_types=["enrollment"])["authlogs"])

# Account information.
out["summary"] = admin.get_info_summary()
out["credits"] = admin.get_info_telephony_credits_used()["telephony_credits_used"]
out["attempts"] = admin.get_authentication_attempts()["authentication_attempts"]
out["user_attempts"] = admin.get_user_authentication_attempts()["user_authentication_attempts"]

# The telephony log (v1 in 4.5) and the activity log, paged the way
# duo_log_sync does: sort ts:asc, next_offset from the previous page.
out["telephony_v1"] = admin.get_telephony_log()
actions, offset = [], None
for _ in range(100):
    kw = {"mintime": now - 86400000, "maxtime": now, "limit": 3, "sort": "ts:asc"}
    if offset:
        kw["next_offset"] = offset
    act = admin.get_activity_logs(**kw)
    if not act["items"]:
        break
    actions += [i["action"] for i in act["items"]]
    offset = act["metadata"]["next_offset"]
out["activity_actions"] = actions

try:
    admin.create_group("Staff")
    out["duplicate"] = "accepted"
except RuntimeError as e:
    out["duplicate"] = str(e)

print(json.dumps(out))
