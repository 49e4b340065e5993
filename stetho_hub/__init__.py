"""The hospital-side hub: archives recordings, receipts them, serves the doctor's console,
exports FHIR R4."""
