// Optional private networking (main.bicep: enablePrivateNetworking=true).
// One VNet with two subnets: `app` is delegated to Microsoft.App/environments for the Flex
// Consumption app's outbound VNet integration; `private-endpoints` holds the private
// endpoints of storage, Service Bus, Cosmos DB, Key Vault and Azure ML. Each private DNS
// zone is linked to the VNet so the app resolves the services' usual names to private IPs.

param name string
param location string
param tags object = {}

param addressPrefix string = '10.20.0.0/16'
param appSubnetPrefix string = '10.20.0.0/24'
param privateEndpointSubnetPrefix string = '10.20.1.0/24'

@description('Private DNS zones to create and link (public cloud names).')
param privateDnsZoneNames array

resource appNsg 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: '${name}-app-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource peNsg 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: '${name}-pe-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: appNsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: peNsg.id
          }
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for zoneName in privateDnsZoneNames: {
  name: zoneName
  location: 'global'
  tags: tags
}]

resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (zoneName, i) in privateDnsZoneNames: {
  parent: zones[i]
  name: '${name}-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}]

output vnetId string = vnet.id
output appSubnetId string = vnet.properties.subnets[0].id
output privateEndpointSubnetId string = vnet.properties.subnets[1].id
