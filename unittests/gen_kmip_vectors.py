# SPDX-License-Identifier: Apache-2.0
"""Regenerate the PyKMIP test vectors in unittests/test_kmip_ttlv.c.

Run with a Python that has PyKMIP 0.11.0 (tests/requirements.txt):
    .venv/bin/python unittests/gen_kmip_vectors.py
and paste the output over the arrays of the same names (between the clang-format markers). The vectors are what a third-party
encoder produces for the requests wtkms sends and the responses it reads, so the unit test checks
our encoding against an independent one byte for byte.
"""
import warnings; warnings.simplefilter("ignore")
from kmip.core import enums, utils, objects, attributes, primitives
from kmip.core.messages import messages, contents, payloads
from kmip.core.factories.attributes import AttributeFactory
V = enums.KMIPVersion.KMIP_1_4
def enc(m):
    s = utils.BytearrayStream(); m.write(s, kmip_version=V); return bytes(s.buffer)
def hexc(name, b):
    print("static const uint8_t %s[] = {" % name)
    for i in range(0, len(b), 16):
        print("  " + ", ".join("0x%02x" % x for x in b[i:i+16]) + ",")
    print("};")
uid = "42"
data = bytes(range(32)); iv = bytes(range(100,112)); aad = b"wtkms kmip wrap v1"; tag = bytes(range(200,216))
cp = attributes.CryptographicParameters(block_cipher_mode=enums.BlockCipherMode.GCM, cryptographic_algorithm=enums.CryptographicAlgorithm.AES, tag_length=16)
hdr = messages.RequestHeader(protocol_version=contents.ProtocolVersion(1,4), batch_count=contents.BatchCount(2))
ga = payloads.GetAttributesRequestPayload(unique_identifier=uid, attribute_names=["State"])
de = payloads.DecryptRequestPayload(unique_identifier=uid, cryptographic_parameters=cp, data=data, iv_counter_nonce=iv, auth_additional_data=aad, auth_tag=tag)
b1 = messages.RequestBatchItem(operation=contents.Operation(enums.Operation.GET_ATTRIBUTES), unique_batch_item_id=contents.UniqueBatchItemID(b"\x01"), request_payload=ga)
b2 = messages.RequestBatchItem(operation=contents.Operation(enums.Operation.DECRYPT), unique_batch_item_id=contents.UniqueBatchItemID(b"\x02"), request_payload=de)
hexc("pykmip_request_getattr_decrypt", enc(messages.RequestMessage(request_header=hdr, batch_items=[b1, b2])))
en = payloads.EncryptRequestPayload(unique_identifier=uid, cryptographic_parameters=cp, data=data, iv_counter_nonce=iv, auth_additional_data=aad)
hdr1 = messages.RequestHeader(protocol_version=contents.ProtocolVersion(1,4), batch_count=contents.BatchCount(2))
b2e = messages.RequestBatchItem(operation=contents.Operation(enums.Operation.ENCRYPT), unique_batch_item_id=contents.UniqueBatchItemID(b"\x02"), request_payload=en)
hexc("pykmip_request_getattr_encrypt", enc(messages.RequestMessage(request_header=hdr1, batch_items=[b1, b2e])))
# Response: GetAttributes(State=Active) + Decrypt(data)
af = AttributeFactory()
st = af.create_attribute(enums.AttributeType.STATE, enums.State.ACTIVE)
rh = messages.ResponseHeader(protocol_version=contents.ProtocolVersion(1,4), time_stamp=contents.TimeStamp(1700000000), batch_count=contents.BatchCount(2))
r1 = messages.ResponseBatchItem(operation=contents.Operation(enums.Operation.GET_ATTRIBUTES), unique_batch_item_id=contents.UniqueBatchItemID(b"\x01"), result_status=contents.ResultStatus(enums.ResultStatus.SUCCESS), response_payload=payloads.GetAttributesResponsePayload(unique_identifier=uid, attributes=[st]))
r2 = messages.ResponseBatchItem(operation=contents.Operation(enums.Operation.DECRYPT), unique_batch_item_id=contents.UniqueBatchItemID(b"\x02"), result_status=contents.ResultStatus(enums.ResultStatus.SUCCESS), response_payload=payloads.DecryptResponsePayload(unique_identifier=uid, data=data))
hexc("pykmip_response_active_decrypt", enc(messages.ResponseMessage(response_header=rh, batch_items=[r1, r2])))
# Response: Deactivated + Decrypt permission denied
st2 = af.create_attribute(enums.AttributeType.STATE, enums.State.DEACTIVATED)
r1b = messages.ResponseBatchItem(operation=contents.Operation(enums.Operation.GET_ATTRIBUTES), unique_batch_item_id=contents.UniqueBatchItemID(b"\x01"), result_status=contents.ResultStatus(enums.ResultStatus.SUCCESS), response_payload=payloads.GetAttributesResponsePayload(unique_identifier=uid, attributes=[st2]))
r2b = messages.ResponseBatchItem(operation=contents.Operation(enums.Operation.DECRYPT), unique_batch_item_id=contents.UniqueBatchItemID(b"\x02"), result_status=contents.ResultStatus(enums.ResultStatus.OPERATION_FAILED), result_reason=contents.ResultReason(enums.ResultReason.PERMISSION_DENIED), result_message=contents.ResultMessage("The decryption key must be in the Active state to be used for decryption."))
hexc("pykmip_response_deactivated_denied", enc(messages.ResponseMessage(response_header=rh, batch_items=[r1b, r2b])))
