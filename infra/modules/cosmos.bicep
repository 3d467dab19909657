// Cosmos DB for NoSQL, serverless, with the database and containers the code relies on.
//
// Partition keys (main.bicep mirrors shared/settings.py, checked by tests/infra):
//   records   /id = upload_id: every read the pipeline makes is a point read by upload_id;
//             one logical partition per upload spreads writes evenly.
//   checksums /id = sha256: the dedup claim is a conditional create of id=sha256 and the
//             lookup a point read (1 RU), never a cross-partition query.
//
// Indexing: by default Cosmos indexes every path, which makes each write pay RUs for
// lineage, prediction history and raw metadata that are never filtered on. The records
// policy indexes only what operators and `imgpipe records`/`reclassify` filter or sort by
// (status, user_id, upload_ts, updated_ts, sha256, model_version, category) plus two
// composite indexes for "status X, newest first" and "user X, newest first"; the rest
// (lineage, predictions, labels) is excluded by the root exclusion /*.
// checksums is only ever point-read, so it indexes nothing (point reads do not use the index).

param name string
param location string
param tags object = {}

param databaseName string

@description('[{ name, partitionKey, includedPaths: [{ path }], compositeIndexes: [[{ path, order }]] }] from main.bicep.')
param containers array

@description('true: public network access disabled; private endpoint in network.bicep.')
param privateNetworking bool = false

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
    consistencyPolicy: {
      // Session: a stage reads its own writes (etag-conditional updates), at the lowest RU cost.
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    // Data plane with Entra ID only (sqlRoleAssignments in rbac.bicep); COSMOS_KEY is for emulators.
    disableLocalAuth: true
    // Management-plane changes (containers, throughput) only through ARM, not with data-plane credentials.
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    // checkov:skip=CKV_AZURE_101:Public access stays on only when privateNetworking=false (Flex Consumption has no fixed outbound IPs); with privateNetworking=true it is Disabled and a private endpoint is used.
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    // checkov:skip=CKV_AZURE_99:IP filtering is not possible for a Flex Consumption app without VNet integration; access is restricted by Entra ID data-plane RBAC instead, and by the private endpoint when privateNetworking=true.
    isVirtualNetworkFilterEnabled: false
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: 'Continuous7Days'
      }
    }
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = [for c in containers: {
  parent: database
  name: c.name
  properties: {
    resource: {
      id: c.name
      partitionKey: {
        paths: [
          c.partitionKey
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: c.includedPaths
        compositeIndexes: c.compositeIndexes
        excludedPaths: [
          {
            path: '/*'
          }
        ]
      }
    }
  }
}]

output id string = account.id
output name string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
