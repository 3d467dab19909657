// Service Bus namespace and the pipeline's queues (cleanse, classify), named after their consumer.
//
// Queue settings and why:
//   requiresDuplicateDetection false: every consumer is idempotent, so a second copy of a
//     message (a re-fired BlobCreated event, a crash between a write and a send, an
//     operator's re-send from Service Bus Explorer) converges to the same state. Duplicate
//     detection would drop a re-send that keeps its message id inside the window.
//   maxDeliveryCount: a transient error is retried this many times (the host abandons the
//     message), then the broker dead-letters it; permanent errors are dead-lettered at once
//     by the app with a reason.
//   lockDuration PT1M for single-message queues (cleanse): a 50 MP photo cleanses in well under a
//     second, and the host renews the lock while the function runs. Batch queues (classify) get
//     batchLockDuration (PT5M, the maximum): the host does NOT renew locks of batch functions
//     (maxAutoLockRenewalDuration applies to single messages only), so a batch must be settled
//     inside the lock; the handler's time budget (CLASSIFY_BATCH_BUDGET_SECONDS) guarantees it.
//     A long lock only delays redelivery after a crash.
//   deadLetteringOnMessageExpiration: nothing is lost when a backlog outlives the TTL.

param name string
param location string
param tags object = {}

@description('Queue names; main.bicep passes shared/settings.py QUEUES (checked by tests/infra).')
param queueNames array

@allowed([
  'Standard'
  'Premium'
])
@description('Premium is required for private endpoints; Standard otherwise (pay per operation).')
param skuName string = 'Standard'

@minValue(1)
@maxValue(100)
param maxDeliveryCount int = 5

param lockDuration string = 'PT1M'

@description('Queues consumed by batch functions; they get batchLockDuration.')
param batchQueueNames array = []
param batchLockDuration string = 'PT5M'
param messageTimeToLive string = 'P14D'

@description('true: public network access disabled (requires Premium; private endpoint in network.bicep).')
param privateNetworking bool = false

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: skuName == 'Premium' ? {
    name: 'Premium'
    tier: 'Premium'
    capacity: 1
  } : {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    // Entra ID only: no SAS keys exist that could leak into settings.
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for queueName in queueNames: {
  parent: namespace
  name: queueName
  properties: {
    maxDeliveryCount: maxDeliveryCount
    lockDuration: contains(batchQueueNames, queueName) ? batchLockDuration : lockDuration
    requiresDuplicateDetection: false
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: messageTimeToLive
    enableBatchedOperations: true
    requiresSession: false
    maxSizeInMegabytes: 1024
  }
}]

output id string = namespace.id
output name string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
