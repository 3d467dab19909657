// BlobCreated on uploads/ -> the `ingest` function's blob-extension webhook.
//
// Deployed only once the function code is running (main.bicep: enableUploadsSubscription),
// for two reasons that no template ordering can avoid: the blobs_extension system key is
// created by the host when it first loads a blob trigger with source EventGrid, and Event
// Grid validates a webhook endpoint synchronously when the subscription is created.
// azure.yaml's postdeploy hook flips the flag and re-provisions, so the subscription still
// lives here, declaratively, and not in a script.

param systemTopicName string
param subscriptionName string
param functionAppName string

@description('Function name as the host indexes it (the Python function name of the blob trigger).')
param functionName string

param uploadsContainerName string
param storageAccountId string
param deadLetterContainerName string

@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource functionHost 'Microsoft.Web/sites/host@2024-04-01' existing = {
  parent: site
  name: 'default'
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

var webhookUrl = 'https://${site.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${functionHost.listKeys().systemKeys.blobs_extension}'

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: subscriptionName
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: webhookUrl
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${uploadsContainerName}/blobs/'
      isSubjectCaseSensitive: true
    }
    // Event Grid retries with exponential backoff for up to a day (the function app may be
    // scaling from zero or mid-deployment); then the event goes to the dead-letter container
    // and `docs/operations.md` explains how to replay it.
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output id string = subscription.id
