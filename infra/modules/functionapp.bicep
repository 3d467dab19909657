// The Function App on Flex Consumption (plan FC1), Python 3.11, running as the
// user-assigned identity. Every connection is identity-based: the app settings below hold
// endpoints and client ids, never a key. Names must match shared/settings.py APP_SETTINGS
// and local.settings.sample.json; tests/infra/test_settings_drift.py fails on drift.
//
// Flex Consumption rejects the legacy settings FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE and WEBSITE_CONTENT*: the runtime
// and the package location live in functionAppConfig instead.

param planName string
param appName string
param location string
param tags object = {}

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string
param identityClientId string

param hostStorageName string
param hostBlobEndpoint string
param deploymentContainerName string

param imagesBlobEndpoint string
param imagesQueueEndpoint string
param serviceBusFullyQualifiedNamespace string
param cosmosEndpoint string
param cosmosDatabaseName string
param appInsightsConnectionString string

@description('Scoring URI of the Azure ML online endpoint.')
param mlEndpointUrl string

@description('Key Vault URI (ends with /) holding the ML endpoint key secret.')
param keyVaultUri string
param mlEndpointKeySecretName string

param classifyConfidenceThreshold string

@description('NCRONTAB schedule of the reconciliation sweep (timer function reconcile).')
param reconcileSchedule string = '0 */10 * * * *'

@description('Seconds the classifier waits for the endpoint per attempt. One request\'s worst case (4 x this + 3 x mlEndpointMaxRetryAfter) plus CLASSIFY_BATCH_BUDGET_SECONDS must stay inside the classify batch lock (PT5M): 180 + 100 s by default.')
param mlEndpointTimeout string = '30'

@description('Longest Retry-After (seconds) the classifier honours between its attempts; longer ones are capped with a warning.')
param mlEndpointMaxRetryAfter string = '20'

@description('The queues\' maxDeliveryCount (servicebus.bicep): on the last delivery the app dead-letters the message and marks the record failed.')
@minValue(1)
@maxValue(100)
param maxAttempts int

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Subnet for outbound VNet integration (delegated to Microsoft.App/environments); empty = none.')
param virtualNetworkSubnetId string = ''

@description('azd service name in azure.yaml; azd finds the app to deploy to by this tag.')
param azdServiceName string = 'functions'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Flex Consumption (FC1) has no instance count to spread over zones in this template; zone redundancy for Flex is a separate opt-in with always-ready instances, which would end scale-to-zero.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

var appSettings = {
  // Functions host storage through the managed identity (no AzureWebJobsStorage connection string).
  AzureWebJobsStorage__accountName: hostStorageName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Telemetry authenticated with Entra ID (the component has local auth disabled).
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The worker loads its own protobuf 4.x/grpcio 1.59 first unless told to isolate them; the SDK-type
  // Service Bus binding needs protobuf >= 6.31, so without this no function indexes
  // (tests/integration/test_worker_dependencies.py reproduces both outcomes).
  PYTHON_ISOLATE_WORKER_DEPENDENCIES: '1'
  // DefaultAzureCredential in the app's own clients (Cosmos, Blob, ML) picks this identity.
  AZURE_CLIENT_ID: identityClientId
  // Blob trigger + blob clients: the trigger needs the queue endpoint too (poison queue).
  IMAGES_STORAGE__blobServiceUri: imagesBlobEndpoint
  IMAGES_STORAGE__queueServiceUri: imagesQueueEndpoint
  IMAGES_STORAGE__credential: 'managedidentity'
  IMAGES_STORAGE__clientId: identityClientId
  SERVICEBUS__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
  SERVICEBUS__credential: 'managedidentity'
  SERVICEBUS__clientId: identityClientId
  // Same number as the queues' maxDeliveryCount, so the app knows which delivery is the last.
  IMGPIPE_MAX_ATTEMPTS: string(maxAttempts)
  COSMOS_ENDPOINT: cosmosEndpoint
  COSMOS_DATABASE: cosmosDatabaseName
  // Flex Consumption supports only the Event Grid source for blob triggers.
  UPLOADS_TRIGGER_SOURCE: 'EventGrid'
  ML_ENDPOINT_URL: mlEndpointUrl
  // Resolved by the platform with keyVaultReferenceIdentity; the code sees the plain key.
  ML_ENDPOINT_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${mlEndpointKeySecretName}/)'
  CLASSIFY_CONFIDENCE_THRESHOLD: classifyConfidenceThreshold
  // classify batches' locks are not renewed: no model call starts after this (servicebus.bicep, batchLockDuration).
  CLASSIFY_BATCH_BUDGET_SECONDS: '100'
  // The reconciliation sweep (functions/reconcile.py, shared/reconcile.py): uploads whose event was lost,
  // stuck records, records whose message the broker dead-lettered.
  RECONCILE_SCHEDULE: reconcileSchedule
  RECONCILE_GRACE_MINUTES: '15'
  RECONCILE_STUCK_MINUTES: '60'
  RECONCILE_LOOKBACK_HOURS: '72'
  RECONCILE_LIMIT: '500'
  ML_ENDPOINT_TIMEOUT: mlEndpointTimeout
  ML_ENDPOINT_MAX_RETRY_AFTER: mlEndpointMaxRetryAfter
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:Public inbound is required: Event Grid delivers BlobCreated to the blobs extension webhook over the internet (push delivery cannot target a private endpoint). The webhook needs the blobs_extension system key; the app has no HTTP functions.
  // checkov:skip=CKV_AZURE_17:Client certificates are off because Event Grid's webhook delivery does not present one; the only inbound route is the key-protected blobs extension webhook.
  // checkov:skip=CKV_AZURE_16:Easy Auth for the web function is its own resource (auth.bicep, authsettingsV2, when webAuthClientId is set); checkov looks for it on the site. It excludes the key-protected blobs webhook that Event Grid calls.
  // checkov:skip=CKV_AZURE_212:Flex Consumption scales to zero by design; a minimum instance count (always-ready) is a cost decision, documented in docs/architecture.md, not a failover requirement for a queue-driven pipeline.
  // checkov:skip=CKV_AZURE_213:No HTTP endpoint to probe: the app is driven by Event Grid and Service Bus, and Flex Consumption replaces unhealthy instances itself. Failures are alerted on (alerts.bicep).
  // checkov:skip=CKV_AZURE_78:Flex Consumption has no FTP endpoint; basic-auth publishing (FTP and SCM) is disabled below with basicPublishingCredentialsPolicies.
  name: appName
  location: location
  tags: union(tags, {
    'azd-service-name': azdServiceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      // The whole set, declaratively: anything added by hand is removed by the next provision.
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Deployments authenticate with Entra ID (azd, az functionapp deploy); publishing
// user names and passwords are switched off for both FTP and the SCM site.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
