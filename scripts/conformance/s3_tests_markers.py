"""pytest plugin for the s3-tests run: records each test's markers (lifecycle, encryption,
fails_on_rgw, ...) as a JUnit property, so the summary can group and flag failures
without reading s3-tests' source. Loaded with `-p s3_tests_markers`."""


def pytest_collection_modifyitems(items):
    for item in items:
        names = sorted({mark.name for mark in item.iter_markers()} - {"parametrize"})
        item.user_properties.append(("markers", ",".join(names)))
