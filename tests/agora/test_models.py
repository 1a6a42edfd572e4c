"""Response models accept every shape Agora's docs disagree about; errors carry the doc's meaning."""

from __future__ import annotations

import pytest

from storage.agora import errors
from storage.agora.models import FileInfo, QueryResponse, StopResponse, StorageConfig, normalise_mode, to_ms

SID = "38f8e3cfdc474cd56fc1ceba380d7e1a"


def test_string_file_list_mode():
    answer = QueryResponse.model_validate({
        "resourceId": "r", "sid": SID,
        "serverResponse": {"fileListMode": "string", "fileList": f"{SID}_class.m3u8", "status": 5}})
    assert answer.status == 5
    assert [f.file_name for f in answer.file_list] == [f"{SID}_class.m3u8"]
    assert answer.server_response.playlists == [f"{SID}_class.m3u8"]


def test_json_file_list_mode_from_the_docs_example():
    answer = QueryResponse.model_validate({
        "resourceId": "r", "sid": SID,
        "serverResponse": {"fileListMode": "json", "fileList": [
            {"fileName": "xxx.m3u8", "trackType": "audio_and_video", "uid": "123", "mixedAllUser": True,
             "isPlayable": True, "sliceStartTime": 1562724971626}], "status": 5, "sliceStartTime": 1562724971626}})
    (entry,) = answer.file_list
    assert entry == FileInfo(fileName="xxx.m3u8", trackType="audio_and_video", uid="123", mixedAllUser=True,
                             isPlayable=True, sliceStartTime=1562724971626)
    assert answer.server_response.slice_start_time == 1562724971626


@pytest.mark.parametrize("value", [1562724971, 1562724971626, "1562724971", 1562724971.626])
def test_slice_start_time_in_seconds_or_ms_becomes_ms(value):
    assert FileInfo(fileName="a.m3u8", sliceStartTime=value).slice_start_time in (1562724971000, 1562724971626)
    assert to_ms(None) is None


@pytest.mark.parametrize(("raw", "status"), [("uploaded", "uploaded"), ("backuped", "backuped"),
                                             ("unknown", "unknown"), ("unknow", "unknown")])
def test_uploading_status_spellings(raw, status):
    answer = StopResponse.model_validate({"sid": SID, "resourceId": "r",
                                          "serverResponse": {"uploadingStatus": raw, "fileList": []}})
    assert answer.uploading_status == status


def test_web_mode_stop_shape_and_lowercase_filename():
    answer = StopResponse.model_validate({
        "resourceId": "r", "sid": SID, "cname": "c", "uid": 527841,
        "serverResponse": {"extensionServiceState": [
            {"payload": {"uploadingStatus": "uploaded"}, "serviceName": "upload_service"},
            {"serviceName": "web_recorder_service",
             "payload": {"fileList": [{"filename": "x.m3u8", "sliceStartTime": 1619172632}], "state": "exit"}}]}})
    assert answer.uid == "527841"
    assert answer.uploading_status == "uploaded"
    assert answer.file_list[0].file_name == "x.m3u8"
    assert answer.file_list[0].slice_start_time == 1619172632000


def test_unknown_fields_are_kept_and_empty_file_list_is_fine():
    answer = QueryResponse.model_validate({"sid": SID, "serverResponse": {"status": 4, "fileList": "",
                                                                          "subServiceStatus": {"x": 1}}})
    assert answer.file_list == []
    assert answer.server_response.model_extra == {"subServiceStatus": {"x": 1}}


def test_storage_config_hides_keys_except_on_the_wire():
    config = StorageConfig(vendor=1, region=3, bucket="b", accessKey="AKIDVALUE", secretKey="SECRETVALUE",
                           fileNamePrefix=["a", "b"])
    assert "SECRETVALUE" not in repr(config) and "SECRETVALUE" not in str(config.model_dump())
    assert config.to_wire()["secretKey"] == "SECRETVALUE"
    assert config.prefix_path == "a/b/"


def test_mode_names():
    assert normalise_mode("Composite") == "mix"
    with pytest.raises(ValueError):
        normalise_mode("raw")


def test_every_documented_code_has_a_class_with_meaning_and_advice():
    for code in (2, 7, 8, 49, 50, 52, 53, 62, 65, 109, 110, 400, 401, 404, 405, 406, 432, 433, 435, 500, 501,
                 502, 504, 1001, 1003, 1013, 1028):
        error = errors.error_from_response("start", 400, {"code": code, "reason": "x"})
        assert type(error) is errors.ERROR_CLASSES[code]
        assert isinstance(error, errors.AgoraServiceError) and error.code == code
        assert error.meaning and error.advice


def test_error_body_shapes():
    gateway = errors.error_from_response("query", 401, {"message": "Invalid authentication credentials"})
    assert isinstance(gateway, errors.AgoraAuthError) and gateway.reason == "Invalid authentication credentials"
    assert isinstance(errors.error_from_response("query", 404, {"message": "no Route matched with those values"}),
                      errors.RouteNotFound)
    assert isinstance(errors.error_from_response("query", 429, {"message": "API rate limit exceeded"}),
                      errors.RateLimited)
    undocumented = errors.error_from_response("start", 500, {"resourceId": "r", "sid": "", "code": 15})
    assert type(undocumented) is errors.AgoraServiceError and undocumented.code == 15
    assert "undocumented" in str(undocumented)
    assert isinstance(errors.error_from_response("start", 502, "gateway text"), errors.AgoraServiceError)
